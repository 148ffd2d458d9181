"""The pieces of the generic OAuth emulator (oauth.py): URL templates as paths and patterns, grants and issued tokens, and `Answer`,
raised by a route to answer with a status."""

from __future__ import annotations

import base64
import re
import time
from dataclasses import dataclass, field
from typing import Any

from connections.providers.catalog import Provider, placeholders


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def path_regex(template: str) -> re.Pattern:
    """The path of a URL template as a regex: placeholders match one segment."""
    path = template_path(template)
    parts = re.split(r"(\{[a-z_]+\})", path)
    return re.compile(
        "^" + "".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts) + "$"
    )


def template_path(template: str) -> str:
    if template.startswith("{"):  # {instance_url}/services/…: the rest is the path
        return template.split("}", 1)[1]
    rest = template.split("://", 1)[1]
    return "/" + rest.split("/", 1)[1] if "/" in rest else "/"


def overrides_for(spec: Provider, origin: str) -> dict[str, str]:
    """Connection endpoint overrides that send every call to an emulator at `origin`."""
    templates = {
        "authorization_url": spec.oauth.authorize_url,
        "token_url": spec.oauth.token_url,
        "revoke_url": spec.revoke.url if spec.revoke else "",
        "api_base_url": spec.api.base_url,
    }
    return {
        name: origin + template_path(template)
        for name, template in templates.items()
        if template and not template.startswith("{")
    }


def nest(path: str, value: Any, into: dict | None = None) -> dict:
    """{"a": {"b": value}} for "a.b"."""
    root = into if into is not None else {}
    node = root
    parts = path.split(".")
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = value
    return root


@dataclass(eq=False)
class Grant:
    """One authorization (a token family): its tokens die together on revocation."""

    client_id: str
    user_id: str
    scopes: list[str]
    revoked: bool = False
    used_refresh_tokens: dict[str, float] = field(default_factory=dict)  # token → used at


@dataclass
class IssuedToken:
    grant: Grant
    expires_at: float
    revoked: bool = False

    @property
    def valid(self) -> bool:
        return not self.revoked and not self.grant.revoked and time.time() < self.expires_at


class Answer(Exception):
    """Raised by an API handler to answer at once: (status, headers, payload)."""

    def __init__(self, status: int, payload: Any = None, **headers: str) -> None:
        super().__init__(status)
        self.status = status
        self.payload = payload if payload is not None else {}
        self.headers = {k.replace("_", "-"): v for k, v in headers.items()}


def placeholders_of(spec: Provider) -> set[str]:
    return {
        name
        for template in (spec.oauth.authorize_url, spec.oauth.token_url, spec.api.base_url)
        for name in placeholders(template)
    }
