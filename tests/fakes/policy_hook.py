"""A company's pre-execution policy hook on 127.0.0.1: it records each request and
answers a decision — or a status, a body that is no decision, or nothing in time."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler

from connections.providers.emulation.server import LocalServer
from tests.fakes.webhook_receiver import Received


class PolicyHookServer(LocalServer):
    def __init__(self) -> None:
        super().__init__()
        self.received: list[Received] = []
        self.decision = "allow"
        self.message = ""
        self.status = 200
        self.body: bytes | None = None  # answered instead of a decision when set
        self.delay = 0.0
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"{self.origin}/policy"

    def calls(self) -> list[dict]:
        return [json.loads(r.body)["call"] for r in self.received]

    def _dispatch(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        body = handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
        with self.lock:
            headers = {k.lower(): v for k, v in handler.headers.items()}
            self.received.append(Received(headers, body, time.time()))
            answer = self.body
            if answer is None:
                answer = json.dumps({"decision": self.decision, "message": self.message}).encode()
        if self.delay:
            time.sleep(self.delay)
        try:
            handler.send_response(self.status)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(len(answer)))
            handler.end_headers()
            handler.wfile.write(answer)
        except OSError:  # the portal gave up waiting
            pass
