"""The sandbox model: an OpenAI-compatible chat completion that is honest about what it is.

It follows the organization's scripts (a prompt containing a script's `match` → the
script's tool calls, one per turn, then its final text); without a script it calls a tool
only when the prompt names it — `call monday_create_item {"board_id": "4001", ...}` — and
otherwise says what it can do. It never invents arguments.
"""

from __future__ import annotations

import json
import re
import secrets
import time
from typing import Any

from core import sandbox
from sandbox.models import ModelScript

EXPLICIT_CALL = re.compile(r"\bcall\s+(?P<tool>[A-Za-z0-9_.-]+)\s*(?P<arguments>\{.*\})?", re.S)
MAX_RESULT_SHOWN = 1500


def complete(*, organization_id: Any, body: dict[str, Any]) -> dict[str, Any]:
    given = body.get("messages")
    messages: list[Any] = given if isinstance(given, list) else []
    offered = [
        str(tool.get("function", {}).get("name", ""))
        for tool in body.get("tools") or []
        if isinstance(tool, dict)
    ]
    prompt, turn, last_result = _conversation(messages)
    script = _script_for(organization_id, prompt)
    if script is not None:
        steps = [s for s in script.steps if isinstance(s, dict)]
        if turn < len(steps):
            step = steps[turn]
            return _call(offered, str(step.get("tool", "")), step.get("arguments") or {})
        return _reply(script.final or "Done.")
    explicit = EXPLICIT_CALL.search(prompt)
    if explicit and turn == 0:
        try:
            arguments = json.loads(explicit["arguments"] or "{}")
        except ValueError:
            return _reply("The arguments after the tool's name are not valid JSON.")
        return _call(offered, explicit["tool"], arguments)
    if explicit:
        return _reply(
            f"I called {explicit['tool']}. It answered:\n{last_result[:MAX_RESULT_SHOWN]}"
        )
    return _reply(
        "I am the sandbox model, not a language model: I follow scripts registered through "
        "POST /api/v1/sandbox/scripts, or call a tool you name, e.g. "
        "`call monday_list_boards {}`. Your tools: " + (", ".join(offered) or "none yet") + "."
    )


def _conversation(messages: list[Any]) -> tuple[str, int, str]:
    """The last user prompt, how many tool-calling turns followed it, the last tool result."""
    prompt, turn, last_result = "", 0, ""
    for message in messages:
        if not isinstance(message, dict):
            continue
        role = message.get("role")
        if role == "user":
            prompt, turn, last_result = str(message.get("content") or ""), 0, ""
        elif role == "assistant" and message.get("tool_calls"):
            turn += 1
        elif role == "tool":
            last_result = str(message.get("content") or "")
    return prompt, turn, last_result


def _script_for(organization_id: Any, prompt: str) -> ModelScript | None:
    lowered = prompt.lower()
    for script in ModelScript.objects.filter(organization_id=organization_id):
        if script.match.lower() in lowered:
            return script
    return None


def _resolve(offered: list[str], name: str) -> str | None:
    """The offered tool by its name, or qualified with a connection (<connection>__<name>)."""
    if name in offered:
        return name
    qualified = [tool for tool in offered if tool.endswith("__" + name)]
    return qualified[0] if len(qualified) == 1 else None


def _call(offered: list[str], name: str, arguments: Any) -> dict[str, Any]:
    tool = _resolve(offered, name)
    if tool is None:
        return _reply(
            f"I can't call {name}: it is not one of your tools. Your tools: "
            + (", ".join(offered) or "none yet")
            + "."
        )
    call = {
        "id": "call_" + secrets.token_hex(8),
        "type": "function",
        "function": {"name": tool, "arguments": json.dumps(arguments)},
    }
    return _completion({"role": "assistant", "content": None, "tool_calls": [call]}, "tool_calls")


def _reply(text: str) -> dict[str, Any]:
    return _completion({"role": "assistant", "content": text}, "stop")


def _completion(message: dict[str, Any], finish_reason: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-sandbox-" + secrets.token_hex(6),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": sandbox.MODEL_NAME,
        "choices": [{"index": 0, "message": message, "finish_reason": finish_reason}],
        "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
    }
