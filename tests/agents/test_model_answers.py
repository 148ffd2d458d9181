"""Whatever an OpenAI-compatible server answers, a run either reads it or ends with a
readable reason (agents/llm.reply_of reads the answer as plain JSON): never a crash."""

from __future__ import annotations

import pytest

from agents import runs
from agents.models import AgentRun, RunStatus
from portal.callers import Caller
from tests.fakes.openai_server import raw

pytestmark = pytest.mark.django_db(transaction=True)


def run_with(agent, alice, model, answer) -> AgentRun:
    model.queue(raw(answer))
    run = runs.start_run(agent=agent, prompt="Hello", caller=Caller.of_member(alice))
    return AgentRun.objects.get(pk=run.pk)


@pytest.mark.parametrize(
    "answer, reason",
    [
        ({"choices": []}, "The model returned no answer."),
        ({"choices": [{"message": None}]}, "The model returned no answer."),
        ({"choices": "many"}, "The model returned no answer."),
        ("just text", "The model returned no answer."),
        ([1, 2], "The model returned no answer."),
        (b"<html>gateway</html>", "The model server's answer is not JSON."),
    ],
)
def test_an_answer_without_a_message_ends_the_run_with_a_reason(
    agent, alice, model, answer, reason
):
    run = run_with(agent, alice, model, answer)
    assert run.status == RunStatus.FAILED
    assert run.status_reason == reason


def test_odd_fields_are_read_as_nothing_rather_than_trusted(agent, alice, model):
    answer = {
        "choices": [
            {
                "message": {
                    "content": "Hi there.",
                    "tool_calls": "not a list",
                }
            }
        ],
        "usage": {"prompt_tokens": "lots", "completion_tokens": -3},
    }
    run = run_with(agent, alice, model, answer)
    assert run.status == RunStatus.SUCCEEDED, run.status_reason
    assert run.final_text == "Hi there."
    assert (run.prompt_tokens, run.completion_tokens) == (0, 0)


def test_arguments_sent_as_an_object_are_taken_as_their_json(agent, alice, model):
    call = {
        "id": "call_obj",
        "type": "function",
        "function": {"name": "monday_get_me", "arguments": {}},
    }
    model.queue(raw({"choices": [{"message": {"content": None, "tool_calls": [call, 7]}}]}))
    model.queue(raw({"choices": [{"message": {"content": "Done."}}]}))
    run = runs.start_run(agent=agent, prompt="Who am I?", caller=Caller.of_member(alice))
    run = AgentRun.objects.get(pk=run.pk)
    assert run.status == RunStatus.SUCCEEDED, run.status_reason
    tool_step = run.steps.get(kind="tool")
    assert tool_step.tool_name == "monday_get_me"
    assert tool_step.outcome == "ok"


@pytest.mark.parametrize(
    "message, text",
    [
        (
            {"content": [{"type": "text", "text": "Two "}, {"type": "text", "text": "parts."}]},
            "Two parts.",
        ),
        ({"content": None, "refusal": "I can't help with that."}, "I can't help with that."),
    ],
)
def test_text_in_parts_or_a_refusal_is_the_answer(agent, alice, model, message, text):
    run = run_with(agent, alice, model, {"choices": [{"message": message}]})
    assert run.status == RunStatus.SUCCEEDED, run.status_reason
    assert run.final_text == text


def test_the_request_is_chat_completions_json_with_the_offered_tools(agent, alice, model):
    """agents/llm.request_body: serialized by the portal (the tools once per run), sent
    by the SDK as JSON."""
    from tests.fakes.openai_server import call, reply

    model.queue(call("monday_get_me"), reply("Done."))
    run = runs.start_run(agent=agent, prompt="Who am I? é ✓", caller=Caller.of_member(alice))
    assert AgentRun.objects.get(pk=run.pk).status == RunStatus.SUCCEEDED
    first, second = model.requests
    assert set(first) == {"model", "messages", "temperature", "tools"}
    assert (first["model"], first["temperature"]) == (agent.model, agent.temperature)
    assert first["messages"][-1] == {"role": "user", "content": "Who am I? é ✓"}
    assert second["tools"] == first["tools"] and "monday_get_me" in {
        tool["function"]["name"] for tool in first["tools"]
    }
    assert [m["role"] for m in second["messages"]] == ["system", "user", "assistant", "tool"]
    assert all(h["content-type"] == "application/json" for h in model.headers)
