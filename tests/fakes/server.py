"""The HTTP plumbing every emulator shares: a threaded server on 127.0.0.1, a free port."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self


class LocalServer:
    """Subclasses implement `_dispatch(handler, method)`; requests' busy time is recorded."""

    def __init__(self) -> None:
        self.server: ThreadingHTTPServer | None = None
        # (start, end) perf_counter of each request handled: benchmarks subtract this time.
        self.busy: list[tuple[float, float]] = []
        # Called with (method, path) before each request is answered: lets a test look at
        # the portal's database at the moment the provider is called.
        self.before_request = None
        # An ssl.SSLContext to serve https (tests/fakes/tls.py makes one), else plain http.
        self.tls = None

    def _dispatch(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        raise NotImplementedError

    def start(self) -> Self:
        emulator = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # One segment per response: no Nagle / delayed-ACK stalls on keep-alive.
            disable_nagle_algorithm = True
            wbufsize = 64 * 1024

            def log_message(self, *args: Any) -> None:
                pass

            def _handle(self, method: str) -> None:
                started = time.perf_counter()
                if emulator.before_request is not None:
                    emulator.before_request(method, self.path)
                emulator._dispatch(self, method)
                self.wfile.flush()
                emulator.busy.append((started, time.perf_counter()))

            def do_GET(self) -> None:
                self._handle("GET")

            def do_POST(self) -> None:
                self._handle("POST")

            def do_PUT(self) -> None:
                self._handle("PUT")

            def do_PATCH(self) -> None:
                self._handle("PATCH")

            def do_DELETE(self) -> None:
                self._handle("DELETE")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        if self.tls is not None:
            self.server.socket = self.tls.wrap_socket(self.server.socket, server_side=True)
        self.server.daemon_threads = True
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return self

    def stop(self) -> None:
        if self.server:
            self.server.shutdown()
            self.server.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    @property
    def origin(self) -> str:
        host, port = self.server.server_address[:2]
        return f"{'https' if self.tls is not None else 'http'}://{host}:{port}"
