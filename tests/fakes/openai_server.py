"""An OpenAI-compatible Chat Completions server on 127.0.0.1, scripted per test.

POST /v1/chat/completions answers with the next scripted reply:
  reply("text")                        a final answer
  call("tool", arg=1)                  one tool call
  calls(("tool", {...}), ("t2", {...})) several tool calls in one message
  fail(500)                            an HTTP error (the SDK retries 5xx/429)
  raw(payload)                         exactly this answer: any JSON value, or bytes
  a callable(request_json) -> any of the above, to answer from what was sent
answer_with(policy) answers every request with policy(request_json) instead: for many
runs at once, or a run whose requests may be repeated (a worker died mid-call).
Every request body is kept in `requests` (to assert what the model was shown).
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from http.server import BaseHTTPRequestHandler
from typing import Any

from connections.providers.emulation.server import LocalServer

_ids = itertools.count(1)


def reply(text: str) -> dict[str, Any]:
    return {"content": text, "tool_calls": []}


def calls(*specs: tuple[str, dict[str, Any]]) -> dict[str, Any]:
    return {
        "content": None,
        "tool_calls": [
            {
                "id": f"call_{next(_ids)}",
                "type": "function",
                "function": {"name": name, "arguments": json.dumps(arguments)},
            }
            for name, arguments in specs
        ],
    }


def call(name: str, **arguments: Any) -> dict[str, Any]:
    return calls((name, arguments))


def fail(status: int, message: str = "upstream error") -> dict[str, Any]:
    return {"fail": status, "message": message}


def raw(payload: Any) -> dict[str, Any]:
    return {"raw": payload}


class OpenAIServer(LocalServer):
    def __init__(self) -> None:
        super().__init__()
        self.script: list[Any] = []
        self.requests: list[dict[str, Any]] = []
        self.raw_requests: list[str] = []
        self.headers: list[dict[str, str]] = []
        self.delay = 0.0
        self.policy = None
        self.lock = threading.Lock()

    @property
    def base_url(self) -> str:
        return f"{self.origin}/v1"

    def _dispatch(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        body = handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
        headers = {key.lower(): value for key, value in handler.headers.items()}
        if method == "POST":
            status, payload = self._answer(handler.path, body, headers)
        else:
            status, payload = 405, {"error": {"message": "use POST"}}
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        if status >= 400:  # the SDK honours this, so retry tests stay fast
            handler.send_header("retry-after-ms", "5")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    def answer_with(self, policy) -> None:
        self.policy = policy

    def queue(self, *replies: Any) -> None:
        with self.lock:
            self.script.extend(replies)

    def _answer(self, path: str, body: bytes, headers: dict[str, str]):
        if self.delay:
            time.sleep(self.delay)
        request = json.loads(body or b"{}")
        with self.lock:
            self.requests.append(request)
            self.raw_requests.append(body.decode(errors="replace"))
            self.headers.append(headers)
            if self.policy is not None:
                step = self.policy
            else:
                step = self.script.pop(0) if self.script else reply("(script exhausted)")
        if not path.endswith("/chat/completions"):
            return 404, {"error": {"message": "not found"}}
        if callable(step):
            step = step(request)
        if "raw" in step:
            return 200, step["raw"]
        if "fail" in step:
            return step["fail"], {"error": {"message": step["message"], "type": "server_error"}}
        message = {"role": "assistant", "content": step["content"]}
        if step["tool_calls"]:
            message["tool_calls"] = step["tool_calls"]
        return 200, {
            "id": f"chatcmpl-{next(_ids)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": request.get("model", "emulated"),
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "finish_reason": "tool_calls" if step["tool_calls"] else "stop",
                }
            ],
            "usage": {"prompt_tokens": 50, "completion_tokens": 10, "total_tokens": 60},
        }
