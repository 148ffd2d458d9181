"""DESIGN §13 rule 24: what a person approves is what runs. The decision view shows the
whole call — every argument, in full, whatever its length or key — and the approval names
the step and the fingerprint of its arguments: a stale page or a double submit answers
409 and runs nothing."""

from __future__ import annotations

import pytest

from agents.models import AgentRun, RunStatus
from agents.pending import pending_call
from tests.agent_support import decision
from tests.fakes.openai_server import call, calls, reply
from tests.fixtures import signed_in

pytestmark = pytest.mark.django_db(transaction=True)

LONG_BODY = ("Quarterly plan, paragraph by paragraph. " * 60)[:2344]


@pytest.fixture
def approving_agent(agent):
    agent.approval_policy = "always"
    agent.save()
    return agent


def _start(client, agent, prompt="Post the plan") -> AgentRun:
    response = client.post(f"/agents/{agent.pk}/", {"prompt": prompt})
    assert response.status_code == 302, response.content.decode()[:2000]
    return AgentRun.objects.get(pk=response["Location"].rstrip("/").split("/")[-1])


def _item_id(boards) -> str:
    return str(next(iter(boards.items)))


def test_the_decision_view_shows_every_argument_in_full(
    alice, approving_agent, model, boards, member_client, api
):
    model.queue(call("monday_add_update", item_id=_item_id(boards), body=LONG_BODY))
    run = _start(member_client, approving_agent)
    run.refresh_from_db()
    assert run.status == RunStatus.AWAITING_APPROVAL

    page = member_client.get(f"/runs/{run.pk}/").content.decode()
    assert LONG_BODY in page  # all 2,344 characters, not the audit log's 200
    assert "the box scrolls, nothing is left out" in page
    shown = api.get(f"/api/v1/agent-runs/{run.pk}").json()["pending_approval"]
    assert shown["arguments"]["body"] == LONG_BODY and shown["fingerprint"]

    model.queue(reply("Posted."))
    approved = member_client.post(f"/runs/{run.pk}/approve/", decision(run))
    assert approved.status_code == 302
    posted = [u for u in boards.items[_item_id(boards)]["updates"] if u["body"] == LONG_BODY]
    assert len(posted) == 1  # what ran is exactly what was shown


def test_a_stale_page_or_a_double_submit_approves_nothing_unseen(
    alice, approving_agent, model, boards, member_client, api
):
    first = ("monday_create_item", {"board_id": "1001", "item_name": "First, as shown"})
    second = ("monday_create_item", {"board_id": "1001", "item_name": "Second, never shown"})
    model.queue(calls(first, second))
    run = _start(member_client, approving_agent)
    shown = decision(run)

    model.queue(reply("Both done."))
    assert member_client.post(f"/runs/{run.pk}/approve/", shown).status_code == 302
    run.refresh_from_db()
    assert run.status == RunStatus.AWAITING_APPROVAL
    assert pending_call(run)["arguments"]["item_name"] == "Second, never shown"

    # The same form submitted again (a double click, a stale tab) names the first call.
    again = member_client.post(f"/runs/{run.pk}/approve/", shown, follow=True)
    assert "another call than the one you decided on" in again.content.decode()
    api_again = api.post(f"/api/v1/agent-runs/{run.pk}/approve", shown, format="json")
    assert api_again.status_code == 409
    assert api_again.json()["error"]["code"] == "approval_mismatch"
    run.refresh_from_db()
    assert run.status == RunStatus.AWAITING_APPROVAL
    names = [i["name"] for i in boards.items.values()]
    assert "First, as shown" in names and "Second, never shown" not in names


def test_a_decision_with_altered_arguments_or_no_call_is_refused(
    alice, approving_agent, model, boards, member_client, api
):
    model.queue(call("monday_create_item", board_id="1001", item_name="As shown"))
    run = _start(member_client, approving_agent)
    shown = decision(run)

    forged = {**shown, "fingerprint": "0" * 64}
    assert (
        api.post(f"/api/v1/agent-runs/{run.pk}/approve", forged, format="json").status_code == 409
    )
    missing = api.post(f"/api/v1/agent-runs/{run.pk}/approve", {}, format="json")
    assert missing.status_code == 400
    signed_in_again = signed_in(alice)
    assert signed_in_again.post(f"/runs/{run.pk}/approve/").status_code == 302
    run.refresh_from_db()
    assert run.status == RunStatus.AWAITING_APPROVAL
    assert "As shown" not in [i["name"] for i in boards.items.values()]
