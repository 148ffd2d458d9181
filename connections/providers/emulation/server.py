"""The HTTP plumbing every emulator shares: a threaded server on 127.0.0.1 on a free port
(tests, benchmarks), or answering in-process (`answer`, the sandbox app) with its state
pickled between requests."""

from __future__ import annotations

import io
import threading
import time
from email.message import Message
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
        # Where it answers when served in-process (the sandbox): its origin for URLs it
        # hands out (Salesforce's instance_url).
        self.public_origin: str | None = None

    # Logs a long-lived sandbox world keeps only the tail of.
    LOGS = ("busy", "api_log", "request_log", "token_requests", "_issued", "revocations")
    KEPT_LOG_ENTRIES = 50

    def __reduce__(self) -> Any:
        """Pickled as its data: rebuilt by its constructor (routes, lock), then the data
        put back — routes may be closures, which pickle cannot carry."""
        state = {
            name: value
            for name, value in self.__dict__.items()
            if name not in ("server", "lock", "_routes", "before_request", "tls", "spec")
        }
        for name in self.LOGS:
            if isinstance(state.get(name), list):
                state[name] = state[name][-self.KEPT_LOG_ENTRIES :]
        return (rebuild, (type(self), self.constructor_args()), state)

    def constructor_args(self) -> tuple:
        return ()

    def answer(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        """Answer one request in-process: (status, headers, body)."""
        handler = InProcessHandler(path, headers, body)
        self._dispatch(handler, method)  # type: ignore[arg-type]
        return handler.status, handler.headers_out, handler.wfile.getvalue()

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
        if self.public_origin is not None:
            return self.public_origin
        host, port = self.server.server_address[:2]
        return f"{'https' if self.tls is not None else 'http'}://{host}:{port}"


def rebuild(cls: type, args: tuple) -> Any:
    return cls(*args)


class InProcessHandler:
    """What an emulator reads and writes of http.server's request handler, for a request
    answered in-process."""

    def __init__(self, path: str, headers: dict[str, str], body: bytes) -> None:
        self.path = path
        self.headers = Message()
        for name, value in headers.items():
            self.headers[name] = value
        if "Content-Length" not in self.headers:
            self.headers["Content-Length"] = str(len(body))
        self.rfile = io.BytesIO(body)
        self.wfile = io.BytesIO()
        self.status = 500
        self.headers_out: list[tuple[str, str]] = []

    def send_response(self, status: int, message: str | None = None) -> None:
        self.status = status

    def send_header(self, name: str, value: str) -> None:
        self.headers_out.append((name, value))

    def end_headers(self) -> None:
        pass
