"""An OpenAI-compatible Chat Completions server on 127.0.0.1, scripted per test.

POST /v1/chat/completions answers with the next scripted reply:
  reply("text")                        a final answer
  call("tool", arg=1)                  one tool call
  calls(("tool", {...}), ("t2", {...})) several tool calls in one message
  fail(500)                            an HTTP error (the SDK retries 5xx/429)
  a callable(request_json) -> any of the above, to answer from what was sent
Every request body is kept in `requests` (to assert what the model was shown).
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

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


class OpenAIServer:
    def __init__(self) -> None:
        self.script: list[Any] = []
        self.requests: list[dict[str, Any]] = []
        self.raw_requests: list[str] = []
        self.headers: list[dict[str, str]] = []
        self.delay = 0.0
        # (start, end) perf_counter of each request handled: benchmarks subtract this time.
        self.busy: list[tuple[float, float]] = []
        self.lock = threading.Lock()
        self.server: ThreadingHTTPServer | None = None

    def start(self) -> OpenAIServer:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True
            wbufsize = 64 * 1024

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                started = time.perf_counter()
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {key.lower(): value for key, value in self.headers.items()}
                status, payload = fake._answer(self.path, body, headers)
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                if status >= 400:  # the SDK honours this, so retry tests stay fast
                    self.send_header("retry-after-ms", "5")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                self.wfile.flush()
                fake.busy.append((started, time.perf_counter()))

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return self

    def stop(self) -> None:
        if self.server:
            self.server.shutdown()
            self.server.server_close()

    def __enter__(self) -> OpenAIServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/v1"

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
            step = self.script.pop(0) if self.script else reply("(script exhausted)")
        if not path.endswith("/chat/completions"):
            return 404, {"error": {"message": "not found"}}
        if callable(step):
            step = step(request)
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
