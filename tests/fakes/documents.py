"""Serves fixed documents (e.g. an MCP client's metadata document) on 127.0.0.1, over
https with tests/fakes/tls.py. Every request is logged in `requests`."""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler
from typing import Any

from connections.providers.emulation.server import LocalServer


class DocumentServer(LocalServer):
    def __init__(self) -> None:
        super().__init__()
        self.documents: dict[str, tuple[int, dict[str, str], bytes]] = {}
        self.requests: list[str] = []

    def put_json(self, path: str, document: Any, **headers: str) -> str:
        body = json.dumps(document).encode()
        self.documents[path] = (200, {"Content-Type": "application/json", **headers}, body)
        return f"{self.origin}{path}"

    def _dispatch(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        self.requests.append(f"{method} {handler.path}")
        status, headers, body = self.documents.get(handler.path, (404, {}, b"not found"))
        handler.send_response(status)
        for name, value in headers.items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)
