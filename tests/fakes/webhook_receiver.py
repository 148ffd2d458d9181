"""A company's webhook receiver on 127.0.0.1: it records every request (headers and
body) and answers from a script — a status, or a delay longer than the portal waits."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler

from connections.providers.emulation.server import LocalServer


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    at: float  # time.time() when it arrived


class WebhookReceiver(LocalServer):
    def __init__(self) -> None:
        super().__init__()
        self.received: list[Received] = []
        self.script: list[tuple[int, float]] = []  # (status, delay) per request, then 200
        self.delay = 0.0
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"{self.origin}/hooks"

    def answer_next(self, *answers: tuple[int, float]) -> None:
        with self.lock:
            self.script.extend(answers)

    def bodies(self) -> list[bytes]:
        return [r.body for r in self.received]

    def _dispatch(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        body = handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
        with self.lock:
            status, delay = self.script.pop(0) if self.script else (200, self.delay)
            headers = {k.lower(): v for k, v in handler.headers.items()}
            self.received.append(Received(headers, body, time.time()))
        if delay:
            time.sleep(delay)
        data = b'{"ok": true}' if status < 300 else b"upstream trouble"
        try:
            handler.send_response(status)
            handler.send_header("Content-Length", str(len(data)))
            handler.end_headers()
            handler.wfile.write(data)
        except OSError:  # the portal gave up waiting
            pass
