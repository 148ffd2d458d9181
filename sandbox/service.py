"""The sandbox's in-process service (core/egress.py local services): every outbound call
to https://sandbox.agent-portal.invalid lands here, never on the network.

  https://w-<world>.sandbox.agent-portal.invalid/<provider path>   a world's emulator
  https://sandbox.agent-portal.invalid/model/<organization>/v1/chat/completions
                                               the organization's sandbox model
"""

from __future__ import annotations

import hmac
import json
import re
import uuid
from typing import Any

import httpx2

from core import sandbox
from sandbox import model, worlds

WORLD_HOST = re.compile(r"^w-(?P<world>[0-9a-f-]{36})\." + re.escape(sandbox.HOST) + "$")
MODEL_PATH = re.compile(r"^/model/(?P<org>[0-9A-Za-z-]{1,64})/v1/chat/completions$")


def _json(status: int, payload: Any, request: httpx2.Request) -> httpx2.Response:
    return httpx2.Response(
        status,
        headers={"Content-Type": "application/json"},
        content=json.dumps(payload).encode(),
        request=request,
    )


def answer(request: httpx2.Request) -> httpx2.Response:
    path = request.url.path
    body = request.read()
    found = WORLD_HOST.match(request.url.host)
    if found:
        query = request.url.query.decode() if isinstance(request.url.query, bytes) else ""
        target = path + (f"?{query}" if query else "")
        # As sent on the wire (the names' own case), as a socket-served emulator sees them.
        headers = {name.decode(): value.decode() for name, value in request.headers.raw}

        def act(world: Any, emulator: Any) -> Any:
            return emulator.answer(request.method, target, headers, body)

        answered = worlds.with_world(_uuid(found["world"]), act)
        if answered is None:
            return _json(404, {"error": "no such sandbox world"}, request)
        status, answer_headers, content = answered
        return httpx2.Response(status, headers=answer_headers, content=content, request=request)
    found = MODEL_PATH.match(path)
    if found and request.method == "POST":
        key = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(key, sandbox.model_key(found["org"])):
            return _json(401, {"error": {"message": "Incorrect API key."}}, request)
        try:
            payload = json.loads(body or b"{}")
        except ValueError:
            return _json(400, {"error": {"message": "The body is not JSON."}}, request)
        return _json(200, model.complete(organization_id=found["org"], body=payload), request)
    return _json(404, {"error": "not found"}, request)


def _uuid(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(text)
    except ValueError:
        return None
