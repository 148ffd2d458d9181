"""Agent fixtures: the OpenAI-compatible emulator wired into settings, and an agent.

Runs are enqueued on commit (Celery, run in-process while testing), so these tests use
real transactions: the run executes when the request's transaction commits, as in
production.
"""

from __future__ import annotations

import pytest

from agents import configuration
from tests.fakes.openai_server import OpenAIServer

OPENAI_KEY = "sk-test-openai-key-7d2c91"
SEED_PROMPT = (
    'Create a new item "Q3 Campaign Launch" in the Marketing board and set status to In Progress'
)


@pytest.fixture
def model(settings):
    with OpenAIServer() as server:
        settings.OPENAI_BASE_URL = server.base_url
        settings.OPENAI_API_KEY = OPENAI_KEY
        settings.OPENAI_MAX_RETRIES = 2
        settings.OPENAI_TIMEOUT_SECONDS = 5
        yield server


@pytest.fixture
def agent(org, owner):
    return configuration.create_agent(
        org=org,
        name="Assistant",
        instructions="You work in monday.com for the user.",
        created_by=owner.user,
    )


def decision(run) -> dict[str, str]:
    """What an approve/reject form or API call sends: the call the run waits on, as the
    page showed it (its tool call id and fingerprint)."""
    from agents.pending import pending_call

    run.refresh_from_db()
    call = pending_call(run)
    assert call is not None, f"run {run.pk} is {run.status}, not waiting for an approval"
    return {"tool_call_id": call["tool_call_id"], "fingerprint": call["fingerprint"]}
