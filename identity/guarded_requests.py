"""A `requests` session whose every request goes through the portal's one guarded
transport (core/outbound.py: egress policy, deadline, capped answer, no cookies kept):
django-allauth's OpenID Connect provider fetches the identity provider's discovery
document, keys, tokens and userinfo with `requests`, and would otherwise bypass it."""

from __future__ import annotations

from typing import Any

import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

from core import outbound

DEADLINE_SECONDS = 10.0


class GuardedAdapter(BaseAdapter):
    def send(  # type: ignore[override]  # the transport's own deadline and TLS rules apply
        self, request: requests.PreparedRequest, **ignored: Any
    ) -> requests.Response:
        raw = request.body
        body = raw.encode() if isinstance(raw, str) else raw if isinstance(raw, bytes) else None
        headers = {
            name: value.decode() if isinstance(value, bytes) else value
            for name, value in request.headers.items()
        }
        try:
            answer = outbound.send(
                request.method or "GET",
                request.url or "",
                what="identity provider",
                headers=headers,
                content=body,
                deadline=DEADLINE_SECONDS,
            )
        except outbound.OutboundError as exc:
            raise requests.ConnectionError(exc.message, request=request) from None
        response = requests.Response()
        response.status_code = answer.status_code
        response.headers = CaseInsensitiveDict(dict(answer.headers))
        response._content = answer.content
        response.url = request.url or ""
        response.request = request
        response.encoding = "utf-8"
        return response

    def close(self) -> None:
        pass


def session() -> requests.Session:
    guarded = requests.Session()
    guarded.trust_env = False
    for prefix in ("http://", "https://"):
        guarded.mount(prefix, GuardedAdapter())
    return guarded
