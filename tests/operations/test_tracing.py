"""Traces (issue 28): with tracing on, a run started from a page is one trace — the web
request, the Celery task it enqueued, the provider call and the model call — exported here
to an in-memory exporter; its trace id is on the run's steps and audit events, and the run
page links it."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from audit.models import AuditEvent
from core import tracing
from tests.agents.test_runs import run_from_page
from tests.fakes.openai_server import call, reply


@pytest.fixture
def spans():
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.configure(provider)
    yield exporter
    tracing.stop()


def _ancestors(span, by_id) -> list:
    found = []
    while span.parent is not None and span.parent.span_id in by_id:
        span = by_id[span.parent.span_id]
        found.append(span)
    return found


@pytest.mark.django_db(transaction=True)
def test_a_run_is_one_trace_from_the_page_to_the_provider_and_the_model(
    spans, settings, alice, boards, monday, model, member_client, agent
):
    settings.TRACE_URL_TEMPLATE = "https://traces.example/t/{trace_id}"
    model.queue(call("monday_get_me"), reply("You are Alice."))
    run = run_from_page(member_client, agent, prompt="Who am I on monday.com?")
    finished = spans.get_finished_spans()
    by_id = {s.context.span_id: s for s in finished}
    (server,) = [
        s
        for s in finished
        if s.kind == SpanKind.SERVER and s.attributes.get("http.method") == "POST"
    ]
    in_trace = [s for s in finished if s.context.trace_id == server.context.trace_id]
    tasks = [s for s in in_trace if "run_agent" in s.name]
    assert tasks and server in _ancestors(tasks[0], by_id)

    def client_to(port: int) -> list:
        return [
            s
            for s in in_trace
            if s.kind == SpanKind.CLIENT and s.attributes.get("server.port") == port
        ]

    to_model = client_to(urlsplit(model.base_url).port)
    to_monday = client_to(urlsplit(monday.origin).port)
    assert len(to_model) == 2 and to_monday, [s.name for s in in_trace]
    for span in (*to_model, *to_monday):
        assert tasks[0] in _ancestors(span, by_id)  # web → task → provider / model
        assert span.attributes["http.response.status_code"] == 200
        assert "?" not in span.name and "/" not in span.name  # method and host only
    trace_id = format(server.context.trace_id, "032x")
    assert set(run.steps.values_list("trace_id", flat=True)) == {trace_id}
    executed = AuditEvent.objects.get(action="tool.executed", metadata__run_id=str(run.pk))
    assert executed.trace_id == trace_id
    page = member_client.get(f"/runs/{run.pk}/").content.decode()
    assert f"https://traces.example/t/{trace_id}" in page


def test_tracing_is_off_unless_configured(db, org, owner):
    from audit import trail

    assert not tracing.enabled()
    event = trail.record(action="test.untraced", organization=org)
    assert event.trace_id == ""
