"""OpenTelemetry traces (issue 28): web request → Celery task → provider call → model call,
one trace. Off by default; on when OTEL_EXPORTER_OTLP_ENDPOINT is set (exported over
OTLP/HTTP, in batches), or when a test installs a provider with an in-memory exporter.

Django's, Celery's and psycopg's own instrumentations make the server, task and SQL spans
(Celery carries the trace to the worker in the task's headers); the one outbound transport
(core/outbound.py) makes a client span for every provider, token and model call — with
the method and host only: a path or a query may carry ids, never a token, but spans leave
the portal. The current trace id is stored on audit events and run steps (`trace_id`);
TRACE_URL_TEMPLATE (e.g. `https://grafana.example/explore?traceId={trace_id}`) turns it
into a link on run pages.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from opentelemetry import trace

_provider: Any = None
_instrumentors: list[Any] = []


def enabled() -> bool:
    return _provider is not None


def configure(provider: Any = None) -> None:
    """Start tracing with `provider`, or with an OTLP exporter when the environment names
    an endpoint; otherwise do nothing."""
    global _provider
    if _provider is not None:
        return
    if provider is None:
        if not os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
            return
        provider = _otlp_provider()
    from opentelemetry.instrumentation.celery import CeleryInstrumentor
    from opentelemetry.instrumentation.django import DjangoInstrumentor
    from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor

    for instrumentor in (DjangoInstrumentor(), CeleryInstrumentor(), PsycopgInstrumentor()):
        instrumentor.instrument(tracer_provider=provider)
        _instrumentors.append(instrumentor)
    _provider = provider


def _otlp_provider() -> Any:
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    service = os.environ.get("OTEL_SERVICE_NAME", "agent-portal")
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    return provider


def stop() -> None:
    """Undo `configure` (tests: the instrumentations are process-wide)."""
    global _provider
    for instrumentor in _instrumentors:
        instrumentor.uninstrument()
    _instrumentors.clear()
    _provider = None


@contextmanager
def client_span(method: str, host: str, port: int) -> Iterator[Any]:
    """A client span around one outbound request (nothing when tracing is off)."""
    if _provider is None:
        yield None
        return
    tracer = _provider.get_tracer("agent-portal.outbound")
    with tracer.start_as_current_span(
        f"{method} {host}",
        kind=trace.SpanKind.CLIENT,
        attributes={"http.request.method": method, "server.address": host, "server.port": port},
    ) as span:
        yield span


def current_trace_id() -> str:
    """The trace this code runs in, as 32 hex digits; "" when none."""
    if _provider is None:
        return ""
    context = trace.get_current_span().get_span_context()
    return format(context.trace_id, "032x") if context.is_valid else ""
