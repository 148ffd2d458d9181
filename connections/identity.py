"""Who an account is at the provider, found right after the token exchange.

The entry's post-connect hook runs first (it may discover values the API base
needs, e.g. the Atlassian site's cloud_id), then "who am I": read from the
token response, or one API call as the new token, id and label at the entry's
paths. A failure leaves the account unidentified rather than failing the
connection: the token is good, and the next reconnect tries again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from connections.errors import TokenRejected
from connections.models import Connection
from connections.oauth_client import TokenResponse
from connections.providers.catalog import TemplateError, dig, render
from connections.tooling import ToolContext
from core.errors import PortalError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Identity:
    id: str = ""
    label: str = ""
    kept: dict[str, str] = field(default_factory=dict)
    error: str = ""


def _origin(template: str) -> str:
    """scheme://host of a URL template whose host part is fixed."""
    parts = urlsplit(template.split("{", 1)[0])
    return f"{parts.scheme}://{parts.netloc}"


def context_for(connection: Connection, access_token: str, kept: dict[str, str]) -> ToolContext:
    """A ToolContext for this connection and token; the API base rendered when it can be."""
    config = connection.oauth_config(with_secret=False)
    try:
        base = config.endpoint("api_base_url", kept)
    except TemplateError:  # a value the post-connect hook has yet to find
        base = _origin(
            config.overrides.get("api_base_url") or connection.provider_spec.api.base_url
        )
    return ToolContext(
        provider=connection.provider_spec,
        api_base_url=base,
        access_token=access_token,
        values=config.values(kept),
    )


def identify(connection: Connection, response: TokenResponse) -> Identity:
    provider = connection.provider_spec
    kept = dict(response.kept)
    try:
        if provider.hooks.post_connect is not None:
            ctx = context_for(connection, response.access_token, kept)
            kept.update(provider.hooks.post_connect(ctx, response))
        ctx = context_for(connection, response.access_token, kept)
        if provider.hooks.fetch_identity is not None:
            account_id, label = provider.hooks.fetch_identity(ctx, response)
        else:
            account_id, label = _by_entry(connection, ctx, response, kept)
    except (PortalError, TokenRejected, TemplateError) as exc:
        reason = getattr(exc, "message", "") or type(exc).__name__
        logger.info("who-am-I failed for %s: %s", connection.provider, reason)
        return Identity(kept=kept, error=reason[:200])
    return Identity(str(account_id or "")[:255], str(label or "")[:255], kept)


def _by_entry(
    connection: Connection, ctx: ToolContext, response: TokenResponse, kept: dict[str, str]
) -> tuple[Any, Any]:
    spec = connection.provider_spec.whoami
    if spec.source == "token":
        body: Any = response.raw
    else:
        absolute = render(spec.url, ctx.values) if spec.url else None
        body = ctx.request(
            spec.method,
            spec.path or "",
            json=dict(spec.json_body) if spec.json_body else None,
            absolute_url=absolute,
        )
    label = next((value for path in spec.label if (value := dig(body, path))), "")
    return dig(body, spec.id), label
