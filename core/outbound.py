"""The one outbound transport: every request the portal sends leaves through here.

Provider APIs, token and revoke endpoints, model servers, webhook endpoints and MCP
client metadata documents all use the clients of this module (healthchecks keeps its
one helper in `hc/lib/curl.py` the same way). Three rules hold for every call
(DESIGN §9, §13 rules 21 and 22):

* **The egress policy at connect time** (core/egress.py) for every destination a
  tenant can choose: the host is resolved, every address checked, the socket opened to
  an address that passed. The server-wide model URL, which only the operator sets, is
  the one destination reached without it (`guarded=False`).
* **No state crosses calls.** The process-wide clients keep no cookies (a jar that
  refuses every cookie, so it cannot grow), carry no default headers or auth, and
  follow no redirects: whatever one call sent or received never reaches the next,
  whichever tenant it serves.
* **One total deadline per call**: connect (name resolution included), sending and the
  whole answer share one budget — the request's timeout, read as a total, not per read.
  A server that drips one byte every few seconds is cut off when the budget is spent.
  Answers over `max_bytes` are refused while they stream in, never held whole.

Transport failures become `OutboundError`s that say what failed (`what`) and never echo
a socket's message.
"""

from __future__ import annotations

import contextvars
import http.cookiejar
import json
import threading
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Any, cast

import httpcore2
import httpx2
from django.conf import settings

from core import db, egress, tracing
from core.errors import PortalError

# --- Errors ---------------------------------------------------------------------------------


class OutboundError(PortalError):
    """The destination could not be reached, or answered in a way nobody can use:
    retryable, nothing on the portal's side changed."""

    status = 502
    code = "provider_unavailable"


class OutboundTimeout(OutboundError):
    status = 504
    code = "provider_timeout"


class EgressBlocked(OutboundError):
    """The destination is not allowed by the egress policy (core/egress.py)."""

    code = "egress_refused"


class TooLarge(Exception):
    pass


# --- The total deadline -------------------------------------------------------------------

# The monotonic time by which the request being sent on this thread must be done. Set by
# the transport around each step of one request; read by every socket operation.
_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "outbound_deadline", default=None
)
WRITE_SLICE = 64 * 1024


def _remaining(timeout: float | None, timeout_error: type[Exception]) -> float | None:
    """The time a socket operation may take: its own timeout, cut to what is left of the
    request's total deadline. Raises when nothing is left."""
    deadline = _deadline.get()
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        raise timeout_error("The request's total deadline passed.")
    return left if timeout is None else min(timeout, left)


class DeadlineStream(httpcore2.NetworkStream):
    """A socket stream whose every operation fits in the current request's deadline."""

    def __init__(self, inner: httpcore2.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        db.request_sent()  # the request is out: a statement sent with it is answered now
        return self._inner.read(max_bytes, _remaining(timeout, httpcore2.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        db.request_leaving()  # a statement ahead of the request is answered first
        # In slices, so a peer that reads slowly cannot stretch one write past the deadline.
        view = memoryview(buffer)
        while view:
            self._inner.write(
                bytes(view[:WRITE_SLICE]), _remaining(timeout, httpcore2.WriteTimeout)
            )
            view = view[WRITE_SLICE:]

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: Any,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore2.NetworkStream:
        return DeadlineStream(
            self._inner.start_tls(
                ssl_context, server_hostname, _remaining(timeout, httpcore2.ConnectTimeout)
            )
        )

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


_resolver = ThreadPoolExecutor(max_workers=8, thread_name_prefix="outbound-dns")


def resolve_within_deadline(host: str, port: int, *, guarded: bool) -> list[Any]:
    """The addresses to connect to, resolved within the deadline (getaddrinfo has no
    timeout of its own); checked against the egress policy when `guarded`."""
    lookup = egress.checked_addresses if guarded else egress.resolve
    future = _resolver.submit(lookup, host.strip("[]"), port)
    try:
        return future.result(timeout=_remaining(None, httpcore2.ConnectTimeout))
    except FutureTimeout:
        raise httpcore2.ConnectTimeout("Name resolution did not finish in time.") from None


class OutboundBackend(httpcore2.SyncBackend):
    """httpcore's network backend with the portal's rules at connect time: resolve within
    the deadline, check every address when `guarded`, open the socket to a checked one.
    TLS still verifies the original host name (httpcore passes it to start_tls)."""

    def __init__(self, *, guarded: bool) -> None:
        self.guarded = guarded

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore2.NetworkStream:
        last_error: Exception | None = None
        for address in resolve_within_deadline(host, port, guarded=self.guarded):
            try:
                stream = super().connect_tcp(
                    str(address),
                    port,
                    _remaining(timeout, httpcore2.ConnectTimeout),
                    local_address,
                    socket_options,
                )
            except httpcore2.ConnectError as exc:  # try the next checked address
                last_error = exc
                continue
            return DeadlineStream(stream)
        raise last_error or httpcore2.ConnectError("no address")


class _BodyWithinDeadline(httpx2.SyncByteStream):
    """The answer's body, read under the request's deadline chunk by chunk."""

    def __init__(self, inner: httpx2.SyncByteStream, deadline: float) -> None:
        self._inner = inner
        self._deadline = deadline

    def __iter__(self) -> Iterator[bytes]:
        chunks = iter(self._inner)
        while True:
            token = _deadline.set(self._deadline)
            try:
                chunk = next(chunks)
            except StopIteration:
                return
            finally:
                _deadline.reset(token)
            yield chunk

    def close(self) -> None:
        self._inner.close()


def total_seconds(request: httpx2.Request) -> float | None:
    """The request's timeout, read as one budget for the whole exchange."""
    values = [v for v in (request.extensions.get("timeout") or {}).values() if v is not None]
    return max(values) if values else None


class OutboundTransport(httpx2.HTTPTransport):
    """httpx2's transport over a pool whose sockets follow the rules above."""

    def __init__(self, *, guarded: bool = True, limits: httpx2.Limits | None = None) -> None:
        limits = limits or httpx2.Limits(max_connections=200, max_keepalive_connections=50)
        super().__init__(limits=limits, trust_env=False)
        # httpx2 builds its pool without a way to choose the network backend; the pool
        # is rebuilt with the same settings and the portal's backend.
        self._pool = httpcore2.ConnectionPool(
            ssl_context=ssl_context(),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=OutboundBackend(guarded=guarded),
        )

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        db.before_request()  # no byte leaves before a statement ahead is answered (core/db)
        url = request.url
        with tracing.client_span(request.method, url.host, url.port or 0) as span:
            response = self._handle(request)
            if span is not None:
                span.set_attribute("http.response.status_code", response.status_code)
            return response

    def _handle(self, request: httpx2.Request) -> httpx2.Response:
        local = egress.local_service_for(str(request.url))
        if local is not None:
            db.request_leaving()
            return local(request)  # answered in-process: no socket, no address
        total = total_seconds(request)
        if total is None:
            return super().handle_request(request)
        deadline = time.monotonic() + total
        token = _deadline.set(deadline)
        try:
            response = super().handle_request(request)
        finally:
            _deadline.reset(token)
        response.stream = _BodyWithinDeadline(
            cast(httpx2.SyncByteStream, response.stream), deadline
        )
        return response


def ssl_context() -> Any:
    """The system's trusted CAs, plus EGRESS_CA_FILE (on-premises servers with a private CA)."""
    context = httpx2.create_ssl_context()
    if settings.EGRESS_CA_FILE:
        context.load_verify_locations(cafile=settings.EGRESS_CA_FILE)
    return context


# --- Stateless clients ----------------------------------------------------------------------


class RefuseAllCookies(http.cookiejar.DefaultCookiePolicy):
    """Nothing is stored, nothing is sent: a shared client must not carry one tenant's
    session (a provider's JSESSIONID, an SSO proxy's cookie) into another's call."""

    def set_ok(self, cookie: Any, request: Any) -> bool:
        return False

    def return_ok(self, cookie: Any, request: Any) -> bool:
        return False

    def domain_return_ok(self, domain: str, request: Any) -> bool:
        return False

    def path_return_ok(self, path: str, request: Any) -> bool:
        return False


def new_client(*, guarded: bool, timeout: float | None = None) -> httpx2.Client:
    """A stateless client (no cookies, no redirects, no environment proxies): for an SDK
    that wants a client of its own (the model client). Prefer `client()`."""
    options: dict[str, Any] = {} if timeout is None else {"timeout": timeout}
    return httpx2.Client(
        transport=OutboundTransport(guarded=guarded),
        follow_redirects=False,
        trust_env=False,
        cookies=http.cookiejar.CookieJar(policy=RefuseAllCookies()),
        **options,
    )


_clients: dict[bool, httpx2.Client] = {}
_lock = threading.Lock()


def client(*, guarded: bool = True) -> httpx2.Client:
    """The process-wide client (building one loads the CA bundle; it is thread-safe and
    keeps connections alive)."""
    found = _clients.get(guarded)
    if found is None:
        with _lock:
            found = _clients.get(guarded)
            if found is None:
                found = _clients[guarded] = new_client(guarded=guarded)
    return found


def close_clients() -> None:
    """Close the pooled clients (their kept-alive connections); the next call opens new ones."""
    with _lock:
        for each in _clients.values():
            each.close()
        _clients.clear()


# --- Sending --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Response:
    status_code: int
    headers: httpx2.Headers
    content: bytes
    elapsed_ms: float

    def json(self) -> Any:
        return json.loads(self.content)

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")


def send(
    method: str,
    url: str,
    *,
    what: str,
    headers: dict[str, str] | None = None,
    params: dict[str, Any] | None = None,
    json_body: Any = None,
    data: dict[str, Any] | None = None,
    content: bytes | None = None,
    deadline: float | None = None,
    max_bytes: int | None = None,
) -> Response:
    """One request through the guarded client, done within `deadline` seconds in all
    (PROVIDER_HTTP_TIMEOUT_SECONDS by default); transport failures become OutboundErrors
    that say what failed (`what`: "GitHub API", "webhook endpoint")."""
    limit = max_bytes or settings.PROVIDER_MAX_RESPONSE_BYTES
    budget = deadline or settings.PROVIDER_HTTP_TIMEOUT_SECONDS
    # In workers: no database connection held while a peer answers.
    db.before_request(release=True)
    started = time.perf_counter()
    try:
        with client().stream(
            method,
            url,
            headers=headers,
            params=params,
            json=json_body,
            data=data,
            content=content,
            timeout=httpx2.Timeout(budget),
        ) as response:
            body = read_capped(response, limit)
    except egress.EgressRefused as exc:
        raise EgressBlocked(f"{what}: {exc}") from None
    except TooLarge:
        raise OutboundError(f"{what} sent an answer larger than {limit} bytes.") from None
    except httpx2.TimeoutException:
        raise OutboundTimeout(f"{what} did not answer in time.") from None
    except (httpx2.HTTPError, httpx2.InvalidURL, ValueError):
        raise OutboundError(f"{what} could not be reached.") from None
    return Response(
        response.status_code,
        response.headers,
        body,
        round((time.perf_counter() - started) * 1000, 1),
    )


def read_capped(response: httpx2.Response, limit: int) -> bytes:
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise TooLarge
    chunks, size = [], 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > limit:
            raise TooLarge
        chunks.append(chunk)
    return b"".join(chunks)
