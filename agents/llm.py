"""The model client: the openai SDK over Chat Completions, any OpenAI-compatible server.

Chat Completions (not the Responses API) is the widest common surface: OpenAI,
Azure, vLLM, Ollama and LiteLLM all speak it. The SDK retries 429, 5xx and
connection errors with exponential backoff (`max_retries`).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import openai
from django.conf import settings
from openai.types.chat import ChatCompletion

from agents.models import Agent

# Local OpenAI-compatible servers (Ollama, vLLM) accept any key; the SDK insists on one.
PLACEHOLDER_KEY = "not-needed"


class ModelError(Exception):
    """The model call failed for good; the message is safe to show to the user."""


class ModelNotConfigured(ModelError):
    pass


def not_configured_reason(agent: Agent) -> str:
    """Why runs of this agent cannot call a model, or "" when they can."""
    if agent.has_secret("api_key_sealed") or settings.OPENAI_API_KEY:
        return ""
    if agent.base_url or settings.OPENAI_BASE_URL:
        return ""  # a local OpenAI-compatible server without keys
    return (
        "No model is configured: set OPENAI_API_KEY (and OPENAI_BASE_URL for any "
        "OpenAI-compatible server such as Azure, vLLM, Ollama or LiteLLM) in the "
        "environment or .env, or set an API key on the agent."
    )


def client_for(agent: Agent) -> openai.OpenAI:
    reason = not_configured_reason(agent)
    if reason:
        raise ModelNotConfigured(reason)
    return _client(
        agent.get_secret("api_key_sealed") or settings.OPENAI_API_KEY or PLACEHOLDER_KEY,
        agent.base_url or settings.OPENAI_BASE_URL or None,
        settings.OPENAI_TIMEOUT_SECONDS,
        settings.OPENAI_MAX_RETRIES,
    )


@functools.lru_cache(maxsize=32)
def _client(api_key: str, base_url: str | None, timeout: float, max_retries: int) -> openai.OpenAI:
    # One client per configuration, reused across runs: building one loads the CA
    # bundle (~10 ms) and reuse keeps its connections alive. The SDK client is thread-safe.
    return openai.OpenAI(
        api_key=api_key, base_url=base_url, timeout=timeout, max_retries=max_retries
    )


@dataclass
class ModelReply:
    message: dict[str, Any]  # the assistant message, ready to append to the conversation
    tool_calls: list[dict[str, Any]]
    prompt_tokens: int
    completion_tokens: int


def complete(
    client: openai.OpenAI,
    agent: Agent,
    messages: list[dict[str, Any]],
    tools: list[dict[str, Any]],
) -> ModelReply:
    try:
        # The SDK's documented `client.post` for a body we built as plain JSON: same
        # retries, timeouts and errors as `chat.completions.create`, without its
        # per-call type transform of every message and tool schema (~2 ms a call).
        response = client.post(
            "/chat/completions",
            cast_to=ChatCompletion,
            body={
                "model": agent.model,
                "messages": messages,
                "temperature": agent.temperature,
                **({"tools": tools} if tools else {}),
            },
        )
    except openai.APIStatusError as exc:
        raise ModelError(
            f"The model server answered HTTP {exc.status_code}{_detail(exc)}."
        ) from None
    except openai.APITimeoutError:
        raise ModelError("The model server did not answer in time.") from None
    except openai.APIConnectionError:
        raise ModelError("The model server could not be reached.") from None
    except openai.OpenAIError as exc:
        raise ModelError(f"The model call failed ({type(exc).__name__}).") from None
    if not response.choices:
        raise ModelError("The model returned no answer.")
    message = response.choices[0].message
    tool_calls = [
        {
            "id": call.id,
            "type": "function",
            "function": {"name": call.function.name, "arguments": call.function.arguments or "{}"},
        }
        for call in message.tool_calls or []
    ]
    assistant: dict[str, Any] = {"role": "assistant", "content": message.content or ""}
    if tool_calls:
        assistant["tool_calls"] = tool_calls
    usage = response.usage
    return ModelReply(
        message=assistant,
        tool_calls=tool_calls,
        prompt_tokens=getattr(usage, "prompt_tokens", 0) or 0,
        completion_tokens=getattr(usage, "completion_tokens", 0) or 0,
    )


def _detail(exc: openai.APIStatusError) -> str:
    body = exc.body if isinstance(exc.body, dict) else {}
    message = (
        (body.get("error") or {}).get("message") if isinstance(body.get("error"), dict) else None
    )
    return f": {str(message)[:200]}" if message else ""
