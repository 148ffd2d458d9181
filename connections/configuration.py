"""Connections: an organization's OAuth app for a provider. Create, update, delete."""

from __future__ import annotations

import ipaddress
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils.text import slugify

from connections import audit
from connections.models import Connection
from connections.providers import get_provider
from portal.errors import Conflict, Invalid, NotFound

ENDPOINT_FIELDS = ("authorization_url", "token_url", "revoke_url", "api_base_url")
EDITABLE_FIELDS = ("client_id", "scopes", "enabled", "disabled_tools", *ENDPOINT_FIELDS)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def validate_endpoint_url(url: str, *, field: str) -> str:
    """https anywhere; plain http only for loopback hosts (emulators) or with DEBUG on."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Invalid(
            f"{field} must be an absolute http(s) URL.", code="invalid_url", details={field: url}
        )
    if parts.scheme == "http" and not (settings.DEBUG or _is_loopback(parts.hostname)):
        raise Invalid(
            f"{field} must use https (http is allowed only for localhost).",
            code="insecure_url",
            details={"field": field},
        )
    return url


def _clean(values: dict[str, Any], provider_key: str) -> dict[str, Any]:
    provider = get_provider(provider_key)
    cleaned: dict[str, Any] = {}
    for field in ENDPOINT_FIELDS:
        if field in values:
            url = (values[field] or "").strip()
            cleaned[field] = validate_endpoint_url(url, field=field) if url else ""
    if "scopes" in values:
        scopes = values["scopes"]
        if isinstance(scopes, str):
            scopes = scopes.replace(",", " ").split()
        if not isinstance(scopes, list) or not all(isinstance(s, str) for s in scopes):
            raise Invalid("scopes must be a list of strings.", code="invalid_scopes")
        unknown = (
            sorted(set(scopes) - set(provider.available_scopes))
            if provider.available_scopes
            else []
        )
        if unknown:
            raise Invalid(
                f"Unknown {provider.display_name} scopes: {', '.join(unknown)}.",
                code="invalid_scopes",
                details={"unknown": unknown, "available": list(provider.available_scopes)},
            )
        cleaned["scopes"] = sorted(set(scopes))
    if "disabled_tools" in values:
        tools = values["disabled_tools"] or []
        known = {tool.name for tool in provider.tools}
        if not isinstance(tools, list) or any(t not in known for t in tools):
            raise Invalid(
                "disabled_tools must list tool names of this provider.", code="invalid_tools"
            )
        cleaned["disabled_tools"] = sorted(set(tools))
    if "client_id" in values:
        cleaned["client_id"] = str(values["client_id"] or "").strip()[:255]
    if "enabled" in values:
        cleaned["enabled"] = bool(values["enabled"])
    return cleaned


def create_connection(
    *,
    org,
    name: str,
    provider: str,
    client_secret: str = "",
    request: HttpRequest | None = None,
    **values,
) -> Connection:
    spec = get_provider(provider)
    if spec is None:
        raise Invalid(f"Unknown provider {provider!r}.", code="unknown_provider")
    name = slugify(name or provider)[:64]
    if not name:
        raise Invalid("Give the connection a name.", code="name_required")
    cleaned = _clean(values, provider)
    cleaned.setdefault("scopes", list(spec.default_scopes))
    connection = Connection(
        organization=org, name=name, provider=provider, auth_type=spec.auth_type, **cleaned
    )
    if client_secret:
        connection.set_secret("client_secret_sealed", client_secret)
    try:
        with transaction.atomic():
            connection.save(force_insert=True)
            _audit(connection, "connection.created", request, cleaned, client_secret)
    except IntegrityError:
        raise Conflict(
            f"A connection named {name!r} already exists.", code="duplicate_name"
        ) from None
    return connection


def update_connection(
    *,
    connection: Connection,
    client_secret: str | None = None,
    request: HttpRequest | None = None,
    **values,
) -> Connection:
    cleaned = _clean({k: v for k, v in values.items() if k in EDITABLE_FIELDS}, connection.provider)
    for field, value in cleaned.items():
        setattr(connection, field, value)
    if client_secret:
        connection.set_secret("client_secret_sealed", client_secret)
    with transaction.atomic():
        connection.save()
        _audit(connection, "connection.updated", request, cleaned, client_secret)
    return connection


def delete_connection(*, connection: Connection, request: HttpRequest | None = None) -> None:
    with transaction.atomic():
        _audit(connection, "connection.deleted", request, {}, None)
        connection.delete()


def _audit(connection: Connection, action: str, request, changed: dict, client_secret) -> None:
    audit.record(
        action=action,
        organization=connection.organization,
        request=request,
        target_type="connection",
        target_id=connection.name,
        metadata={
            "provider": connection.provider,
            "changed": sorted(changed),
            "client_secret_changed": bool(client_secret),
        },
    )


def get_connection(org, name: str, *, enabled_only: bool = False) -> Connection:
    connections = Connection.objects.for_org(org)
    if enabled_only:
        connections = connections.filter(enabled=True)
    connection = connections.filter(name=name).first()
    if connection is None:
        raise NotFound(f"No connection named {name!r}.", code="connection_not_found")
    return connection
