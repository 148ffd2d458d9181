"""A server on 127.0.0.1 that answers what the test scripts: redirects, huge bodies,
errors — for the transport and egress tests. Every request is recorded."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler
from typing import Any

from connections.providers.emulation.server import LocalServer


class ScriptedServer(LocalServer):
    def __init__(self) -> None:
        super().__init__()
        self.lock = threading.Lock()
        self.script: list[tuple[int, dict[str, str], bytes]] = []
        self.requests: list[dict[str, Any]] = []

    def answer(self, status: int = 200, body: Any = None, **headers: str) -> None:
        """Queue one answer; dicts and lists are sent as JSON."""
        data = body if isinstance(body, bytes) else json.dumps(body or {}).encode()
        with self.lock:
            self.script.append((status, {k.replace("_", "-"): v for k, v in headers.items()}, data))

    def _dispatch(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        with self.lock:
            self.requests.append(
                {
                    "method": method,
                    "path": handler.path,
                    "headers": {k.lower(): v for k, v in handler.headers.items()},
                    "body": body.decode(errors="replace"),
                }
            )
            status, headers, data = self.script.pop(0) if self.script else (200, {}, b"{}")
        handler.send_response(status)
        headers.setdefault("Content-Type", "application/json")
        for name, value in headers.items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)
