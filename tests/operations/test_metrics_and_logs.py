"""Operating the portal (issue 28): `/metrics` in Prometheus format behind a token, with
label values that never carry an identifier, an id, an e-mail or a token; one JSON log
line per request and per task."""

from __future__ import annotations

import json
import logging
import re

import pytest
from prometheus_client.parser import text_string_to_metric_families
from pythonjsonlogger.json import JsonFormatter

from agents.models import AgentRun
from tests.connections.test_policy import execute, rule
from tests.fakes.openai_server import call, reply

TOKEN = "metrics-scrape-token-for-tests"
# What must never be a label value: e-mails, UUIDs and long hex ids, long numbers,
# emulator tokens and API keys.
NOT_A_LABEL = re.compile(
    r"@|[0-9a-f]{8}-[0-9a-f]{4}-|[0-9a-f]{24,}|\d{6,}|\b[ar]t-[a-z]+-|\bap_[a-z0-9]{8}_"
)


def scrape(client, token: str | None = TOKEN):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    return client.get("/metrics", **headers)


def samples(text: str) -> list:
    return [s for family in text_string_to_metric_families(text) for s in family.samples]


def test_metrics_are_off_without_a_token_and_refused_with_a_wrong_one(client, settings, db):
    settings.METRICS_TOKEN = ""
    assert scrape(client).status_code == 404
    settings.METRICS_TOKEN = TOKEN
    assert scrape(client, None).status_code == 401
    assert scrape(client, "nope").status_code == 401
    assert scrape(client).status_code == 200


@pytest.mark.django_db(transaction=True)
def test_calls_runs_and_decisions_are_counted_and_no_label_names_anyone(
    client, settings, api, org, alice, boards, model, member_client, agent
):
    from tests.agents.test_runs import run_from_page

    settings.METRICS_TOKEN = TOKEN
    assert execute(api, alice, "monday_get_me").status_code == 200
    execute(api, alice, f"no_such_tool_for_{alice.user.email}")  # a caller's typo
    rule(api, name="No items", tools=["monday_create_item"], effect="deny")
    execute(api, alice, "monday_create_item", board_id="1001", item_name="x")
    model.queue(call("monday_get_me"), reply("You are Alice."))
    run = run_from_page(member_client, agent, prompt="Who am I?")
    answer = scrape(client)
    assert answer.status_code == 200 and answer["Content-Type"].startswith("text/plain")
    found = samples(answer.content.decode())

    def value(name: str, **labels: str) -> float:
        return sum(
            s.value
            for s in found
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())
        )

    assert (
        value("portal_tool_calls_total", provider="monday", tool="monday_get_me", outcome="ok") >= 2
    )
    assert value("portal_tool_calls_total", tool="unknown", outcome="tool_not_found") >= 1
    assert value("portal_tool_calls_total", tool="monday_create_item", outcome="policy_denied") >= 1
    assert value("portal_policy_decisions_total", decision="policy_denied") >= 1
    assert value("portal_agent_runs_finished_total", status="succeeded") >= 1
    assert value("portal_http_requests_total", route="/api/v1/tools/execute", status="200") >= 1
    assert value("portal_provider_call_duration_seconds_count", provider="monday") >= 2
    assert any(s.name == "portal_runs_queued" for s in found)
    assert any(s.name == "portal_webhook_deliveries_due" for s in found)
    people = {alice.user.identifier, alice.user.email, org.slug, str(run.pk), str(agent.pk)}
    for sample in found:
        for key, label in sample.labels.items():
            assert not NOT_A_LABEL.search(label), (sample.name, key, label)
            assert label not in people, (sample.name, key, label)


def test_a_request_is_one_json_line_with_its_request_id_and_executions(api, alice, boards, caplog):
    with caplog.at_level(logging.INFO, logger="portal.requests"):
        answer = api.post(
            "/api/v1/tools/execute",
            {"tool_name": "monday_get_me", "identifier": alice.user.identifier},
            format="json",
            HTTP_X_REQUEST_ID="req-for-the-log-line",
        )
    assert answer.status_code == 200
    (record,) = [
        r for r in caplog.records if getattr(r, "request_id", "") == "req-for-the-log-line"
    ]
    line = json.loads(JsonFormatter("%(levelname)s %(name)s %(message)s").format(record))
    assert line["route"] == "/api/v1/tools/execute" and line["status"] == 200
    assert line["organization"] == alice.organization.slug
    assert line["execution_ids"] == [answer.json()["execution_id"]]
    assert isinstance(line["duration_ms"], float) and "\n" not in json.dumps(line)


@pytest.mark.django_db(transaction=True)
def test_a_task_is_one_log_line_with_its_run(alice, boards, model, member_client, agent, caplog):
    from tests.agents.test_runs import run_from_page

    model.queue(call("monday_get_me"), reply("You are Alice."))
    with caplog.at_level(logging.INFO, logger="portal.tasks"):
        run = run_from_page(member_client, agent, prompt="Who am I?")
    records = [r for r in caplog.records if getattr(r, "task", "").endswith("run_agent")]
    assert records, [r.getMessage() for r in caplog.records]
    line = json.loads(JsonFormatter("%(message)s").format(records[-1]))
    assert line["run_ids"] == [str(run.pk)] and line["outcome"] == "SUCCESS"
    assert len(line["execution_ids"]) == 1
    assert AgentRun.objects.get(pk=run.pk).status == "succeeded"
