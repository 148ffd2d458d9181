"""The model client: the openai SDK over Chat Completions, any OpenAI-compatible server.

Chat Completions (not the Responses API) is the widest common surface: OpenAI,
Azure, vLLM, Ollama and LiteLLM all speak it. The SDK retries 429, 5xx and
connection errors with exponential backoff (`max_retries`).
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx2
import openai
from django.conf import settings

from agents.models import Agent
from core import egress, outbound, sandbox
from core.db import before_request
from core.egress import EgressRefused

# Local OpenAI-compatible servers (Ollama, vLLM) accept any key; the SDK insists on one.
PLACEHOLDER_KEY = "not-needed"


class ModelError(Exception):
    """The model call failed for good; the message is safe to show to the user."""


class ModelNotConfigured(ModelError):
    pass


OWN_KEY_REQUIRED = (
    "This agent sends requests to its own model base URL, so it needs its own API key: "
    "the server-wide OPENAI_API_KEY is only ever sent to the server-wide OPENAI_BASE_URL."
)


@dataclass(frozen=True)
class ModelEndpoint:
    api_key: str = field(repr=False)
    base_url: str | None
    # An organization chose the URL: connect through the egress policy.
    tenant_chosen: bool


def model_endpoint(agent: Agent) -> ModelEndpoint:
    """Where this agent's model calls go, with which key (DESIGN §12 rule 16).

    The server-wide key goes only to the server-wide base URL. An agent with a base URL
    of its own must bring its own key; an agent with only its own key uses it at the
    server-wide URL.
    """
    if agent.sandbox_model:  # the portal's own, in-process (sandbox/model.py)
        return ModelEndpoint(
            sandbox.model_key(agent.organization_id),
            sandbox.model_base_url(agent.organization_id),
            tenant_chosen=True,
        )
    own_key = agent.get_secret("api_key_sealed") or ""
    if agent.base_url:
        if not own_key:
            raise ModelNotConfigured(OWN_KEY_REQUIRED)
        return ModelEndpoint(own_key, agent.base_url, tenant_chosen=True)
    key = own_key or settings.OPENAI_API_KEY
    if not key and not settings.OPENAI_BASE_URL:
        raise ModelNotConfigured(
            "No model is configured: set OPENAI_API_KEY (and OPENAI_BASE_URL for any "
            "OpenAI-compatible server such as Azure, vLLM, Ollama or LiteLLM) in the "
            "environment or .env, or set an API key on the agent."
        )
    return ModelEndpoint(key or PLACEHOLDER_KEY, settings.OPENAI_BASE_URL or None, False)


def not_configured_reason(agent: Agent) -> str:
    """Why runs of this agent cannot call a model, or "" when they can."""
    try:
        model_endpoint(agent)
    except ModelNotConfigured as exc:
        return str(exc)
    return ""


def client_for(agent: Agent) -> openai.OpenAI:
    endpoint = model_endpoint(agent)
    if endpoint.tenant_chosen and not egress.is_local(endpoint.base_url or ""):
        try:  # fail fast here; the transport checks again at every connect
            egress.checked_addresses(*_host_port(endpoint.base_url or ""))
        except egress.EgressRefused as exc:
            raise ModelNotConfigured(f"The agent's model base URL is not allowed: {exc}") from None
    return _client(
        endpoint,
        settings.OPENAI_TIMEOUT_SECONDS,
        settings.OPENAI_MAX_RETRIES,
    )


def _host_port(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80)


class ModelClient(openai.OpenAI):
    """The SDK's client. A statement sent ahead of a model request (the run's last tool
    step: core/db.send_ahead) is answered just before the request's first byte is written
    (core/db.request_leaving, from the transport's socket), so the request is built while
    PostgreSQL commits it; then the connection is given back while the model thinks. A
    lost lease or a database error raised there reaches the runner as it is: the SDK
    retries only transport errors (tests/agents/test_carried_events.py pins that nothing
    reaches the model then, retries on)."""

    def _prepare_request(self, request: httpx2.Request) -> None:
        before_request(release=True)


@functools.lru_cache(maxsize=32)
def _client(endpoint: ModelEndpoint, timeout: float, max_retries: int) -> openai.OpenAI:
    # One client per configuration, reused across runs: building one loads the CA
    # bundle (~10 ms) and reuse keeps its connections alive. The SDK client is thread-safe.
    # Its HTTP client is the portal's stateless outbound client (core/outbound.py): no
    # cookies carried between runs of different organizations, no redirects (one could
    # carry the key elsewhere), and `timeout` is one total deadline per request; an
    # organization's own base URL is reached only through the egress policy.
    return ModelClient(
        api_key=endpoint.api_key,
        base_url=endpoint.base_url,
        timeout=timeout,
        max_retries=max_retries,
        http_client=outbound.new_client(guarded=endpoint.tenant_chosen, timeout=timeout),
    )


class Offer:
    """The tools offered to the model, with their JSON serialized once: a run sends the
    same tool schemas with every model call (~6 KB for a dozen tools), and serializing
    them again each time cost ~0.15 ms a call here (bench.agent_overhead)."""

    def __init__(self, tools: list[dict[str, Any]]) -> None:
        self.tools = tools
        self.json = _dumps(tools) if tools else b""


def _dumps(value: Any) -> bytes:
    # As the SDK serializes a body (openai._utils._json): compact, UTF-8, no NaN.
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()


def request_body(agent: Agent, messages: list[dict[str, Any]], offer: Offer) -> bytes:
    """The Chat Completions request as JSON bytes: the conversation serialized now, the
    tools as the offer serialized them."""
    head = {"model": agent.model, "messages": messages, "temperature": agent.temperature}
    body = _dumps(head)
    return body[:-1] + b',"tools":' + offer.json + b"}" if offer.tools else body


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
    offer: Offer,
) -> ModelReply:
    try:
        # The SDK's documented `client.post` with a body we serialized (`content`): the
        # same retries, timeouts and errors as `chat.completions.create`, without its
        # per-call type transform of every message and tool schema (~2 ms a call); the
        # answer read as plain JSON too (the few fields the runner uses, checked here),
        # not built into the SDK's models (~0.2 ms a call).
        response = client.post(
            "/chat/completions",
            cast_to=httpx2.Response,
            content=request_body(agent, messages, offer),
        )
        answer = response.json()
    except openai.APIStatusError as exc:
        raise ModelError(
            f"The model server answered HTTP {exc.status_code}{_detail(exc)}."
        ) from None
    except openai.APITimeoutError:
        raise ModelError("The model server did not answer in time.") from None
    except openai.APIConnectionError as exc:
        if isinstance(exc.__cause__, EgressRefused):
            raise ModelError(f"The model server is not allowed: {exc.__cause__}") from None
        raise ModelError("The model server could not be reached.") from None
    except openai.OpenAIError as exc:
        raise ModelError(f"The model call failed ({type(exc).__name__}).") from None
    except ValueError:  # not JSON
        raise ModelError("The model server's answer is not JSON.") from None
    return reply_of(answer)


def reply_of(answer: Any) -> ModelReply:
    """The assistant message of a Chat Completions answer (plain JSON), its function
    calls and token counts; an answer without a message is a ModelError."""
    choices = answer.get("choices") if isinstance(answer, dict) else None
    first = choices[0] if isinstance(choices, list) and choices else None
    message = first.get("message") if isinstance(first, dict) else None
    if not isinstance(message, dict):
        raise ModelError("The model returned no answer.")
    calls = message.get("tool_calls")
    tool_calls = []
    for call in calls if isinstance(calls, list) else []:
        function = call.get("function") if isinstance(call, dict) else None
        # Functions are the only kind of tool the portal offers.
        if not isinstance(function, dict) or call.get("type", "function") != "function":
            continue
        arguments = function.get("arguments") or "{}"
        tool_calls.append(
            {
                "id": _text(call.get("id")),
                "type": "function",
                "function": {
                    "name": _text(function.get("name")),
                    "arguments": arguments if isinstance(arguments, str) else json.dumps(arguments),
                },
            }
        )
    # Text, or (some compatible servers) a list of text parts; a refusal stands for it.
    content = _text(message.get("content")) or _text(message.get("refusal"))
    assistant: dict[str, Any] = {"role": "assistant", "content": content}
    if tool_calls:
        assistant["tool_calls"] = tool_calls
    usage = answer.get("usage") if isinstance(answer.get("usage"), dict) else {}
    return ModelReply(
        message=assistant,
        tool_calls=tool_calls,
        prompt_tokens=_count(usage.get("prompt_tokens")),
        completion_tokens=_count(usage.get("completion_tokens")),
    )


def _text(value: Any) -> str:
    if isinstance(value, list):
        return "".join(
            part["text"]
            for part in value
            if isinstance(part, dict)
            and part.get("type") == "text"
            and isinstance(part.get("text"), str)
        )
    return value if isinstance(value, str) else ""


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def _detail(exc: openai.APIStatusError) -> str:
    body = exc.body if isinstance(exc.body, dict) else {}
    message = (
        (body.get("error") or {}).get("message") if isinstance(body.get("error"), dict) else None
    )
    return f": {str(message)[:200]}" if message else ""
