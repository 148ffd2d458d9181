"""A load balancer on 127.0.0.1 with no affinity at all: each HTTP request goes to the next
backend in turn (requests, not connections: a client's kept-alive connection is spread
too). It records which backend answered each request."""

from __future__ import annotations

import itertools
import threading
from http.server import BaseHTTPRequestHandler

import httpx2

from connections.providers.emulation.server import LocalServer

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host"}


class RoundRobin(LocalServer):
    def __init__(self, backends: list[str]) -> None:
        super().__init__()
        self.backends = backends
        self.turns = itertools.cycle(range(len(backends)))
        self.lock = threading.Lock()
        self.answered_by: list[int] = []
        self.client = httpx2.Client(timeout=30, follow_redirects=False)

    def _dispatch(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        body = handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
        with self.lock:
            turn = next(self.turns)
            self.answered_by.append(turn)
        headers = {k: v for k, v in handler.headers.items() if k.lower() not in HOP_BY_HOP}
        headers["Host"] = self.origin.removeprefix("http://")
        answer = self.client.request(
            method, self.backends[turn] + handler.path, headers=headers, content=body
        )
        content = answer.content
        handler.send_response(answer.status_code)
        for name, value in answer.headers.items():
            if name.lower() not in HOP_BY_HOP:
                handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(content)))
        handler.end_headers()
        handler.wfile.write(content)
