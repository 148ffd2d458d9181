"""A peer that tests what the portal's outbound clients share between calls (DESIGN §13
rules 21 and 22): every answer sets cookies (a provider's JSESSIONID, an SSO proxy's
session), and every request's Cookie header is recorded; `drip` sends the answer one
byte at a time, `drip` seconds apart (from the status line, or only the body).

It answers Chat Completions (a final reply), client metadata documents (`/client.json`,
naming its own URL) and anything else with a small JSON object."""

from __future__ import annotations

import itertools
import json
import threading
import time
from http.server import BaseHTTPRequestHandler

from connections.providers.emulation.server import LocalServer

REDIRECT_URI = "http://127.0.0.1:53682/callback"


class SeamPeer(LocalServer):
    def __init__(self) -> None:
        super().__init__()
        self.lock = threading.Lock()
        self.cookies: list[tuple[str, str | None]] = []  # (path, Cookie header) per request
        self.authorizations: list[str | None] = []  # the Authorization header per request
        self.drip = 0.0
        self.drip_headers = False
        self.sessions = itertools.count(1)

    def start(self):
        super().start()
        # The portal hangs up on a dripping answer at its deadline: not an error here.
        self.server.handle_error = lambda request, address: None
        return self

    def requests_with_cookies(self) -> list[tuple[str, str | None]]:
        with self.lock:
            return [(path, cookie) for path, cookie in self.cookies if cookie]

    def _answer(self, path: str) -> bytes:
        if path.endswith("/chat/completions"):
            return json.dumps(
                {
                    "id": "chatcmpl-1",
                    "object": "chat.completion",
                    "created": 0,
                    "model": "m",
                    "choices": [
                        {
                            "index": 0,
                            "finish_reason": "stop",
                            "message": {"role": "assistant", "content": "Done."},
                        }
                    ],
                    "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
                }
            ).encode()
        if path.startswith("/client.json"):
            return json.dumps(
                {
                    "client_id": f"{self.origin}{path}",
                    "client_name": "Seam client",
                    "redirect_uris": [REDIRECT_URI],
                    "grant_types": ["authorization_code", "refresh_token"],
                    "response_types": ["code"],
                    "token_endpoint_auth_method": "none",
                }
            ).encode()
        return json.dumps({"ok": True, "padding": "x" * 200}).encode()

    def _dispatch(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        if length:
            handler.rfile.read(length)
        with self.lock:
            self.cookies.append((handler.path, handler.headers.get("Cookie")))
            self.authorizations.append(handler.headers.get("Authorization"))
            session = next(self.sessions)
        body = self._answer(handler.path)
        head = (
            "HTTP/1.1 200 OK\r\n"
            "Content-Type: application/json\r\n"
            f"Set-Cookie: JSESSIONID=tenant-session-{session}; Path=/\r\n"
            f"Set-Cookie: sso_proxy=signed-in-as-{session}; Path=/; Max-Age=3600\r\n"
            f"Content-Length: {len(body)}\r\n"
            "\r\n"
        ).encode()
        try:
            if not self.drip:
                handler.wfile.write(head + body)
                return
            if not self.drip_headers:
                handler.wfile.write(head)
                handler.wfile.flush()
            for byte in head + body if self.drip_headers else body:
                handler.wfile.write(bytes([byte]))
                handler.wfile.flush()
                time.sleep(self.drip)
        except OSError:  # the portal hung up: its deadline passed
            pass
