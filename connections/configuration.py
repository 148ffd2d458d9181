"""Connections: an organization's OAuth app for a provider. Create, update, delete.

Endpoint overrides are tenant-chosen URLs: they pass the egress policy when saved
(core/egress.py) and again whenever the portal connects to them.
"""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.db import IntegrityError, close_old_connections, transaction
from django.http import HttpRequest
from django.utils.text import slugify

from audit import trail
from audit.models import AuditEvent
from connections import accounts
from connections.models import ConnectedAccount, Connection
from connections.oauth_client import ENDPOINTS
from connections.providers import get_provider
from connections.providers.catalog import Provider, placeholders, render
from connections.providers.schema import CONNECTION_NAME_LIMIT
from core import egress
from core.errors import Conflict, Invalid, NotFound
from portal.callers import Caller

ENDPOINT_FIELDS = ENDPOINTS
EDITABLE_FIELDS = ("client_id", "scopes", "enabled", "disabled_tools", "settings", *ENDPOINT_FIELDS)
NAME = re.compile(r"^[a-z0-9](?:[a-z0-9-]|_(?!_))*$")
REVOKE_WORKERS = 8


def check_endpoint_override(url: str, *, field: str, provider: Provider) -> str:
    """An override may use the entry's placeholders ({cloud_id}); the rest is a URL that
    must pass the egress policy."""
    known = {s.name for s in provider.settings} | set(provider.oauth.keep) | {"client_id"}
    known |= set(provider.kept_after_connect)
    unknown = placeholders(url) - known
    if unknown:
        raise Invalid(
            f"{field} names unknown placeholders: {', '.join(sorted(unknown))}.",
            code="invalid_url",
            details={"field": field},
        )
    sample = url
    for name in placeholders(url):
        sample = sample.replace("{" + name + "}", "x")
    egress.check_url(sample, field=field)
    return url


def _clean_settings(values: Any, provider: Provider) -> dict[str, str]:
    if values in (None, ""):
        return {}
    if not isinstance(values, dict):
        raise Invalid("settings must be an object.", code="invalid_settings")
    cleaned = {}
    for name, value in values.items():
        setting = provider.setting(str(name))
        if setting is None:
            raise Invalid(
                f"{provider.display_name} has no setting {name!r}.",
                code="invalid_settings",
                details={"known": [s.name for s in provider.settings]},
            )
        value = str(value or "").strip()
        if value and not re.fullmatch(setting.pattern, value):
            raise Invalid(
                f"{setting.label}: {value!r} is not valid.",
                code="invalid_settings",
                details={"setting": setting.name, "help": setting.help},
            )
        if value:
            cleaned[setting.name] = value
    return cleaned


def _check_rendered_endpoints(
    provider: Provider, settings: dict[str, str], overrides: dict[str, str]
) -> None:
    """A setting that names a host (a GitHub Enterprise hostname, a Salesforce login host)
    makes the endpoints it produces tenant-chosen URLs: they pass the egress policy.
    Endpoints replaced by an override are checked as overrides instead."""
    values = {**provider.settings_for(settings), "client_id": "x"}
    templates = {
        "authorization_url": provider.oauth.authorize_url,
        "token_url": provider.oauth.token_url,
        "api_base_url": provider.api.base_url,
    }
    for field, template in templates.items():
        host_part = template.split("://", 1)[-1].split("/", 1)[0]
        if overrides.get(field) or not placeholders(host_part) & set(settings):
            continue
        if placeholders(template) <= set(values):
            egress.check_url(render(template, values), field=f"settings ({field})")


def _clean(
    values: dict[str, Any], provider: Provider, existing: Connection | None = None
) -> dict[str, Any]:
    cleaned: dict[str, Any] = {}
    for field in ENDPOINT_FIELDS:
        if field in values:
            url = (values[field] or "").strip()
            if len(url) > 500:
                raise Invalid(f"{field} is longer than 500 characters.", code="invalid_url")
            cleaned[field] = (
                check_endpoint_override(url, field=field, provider=provider) if url else ""
            )
    if "settings" in values:
        cleaned["settings"] = _clean_settings(values["settings"], provider)
        overrides = {
            f: cleaned.get(f, getattr(existing, f, "") if existing else "") for f in ENDPOINT_FIELDS
        }
        _check_rendered_endpoints(provider, cleaned["settings"], overrides)
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
        names = values["disabled_tools"] or []
        known = {tool.name for tool in provider.tools}
        if not isinstance(names, list) or any(t not in known for t in names):
            raise Invalid(
                "disabled_tools must list tool names of this provider.", code="invalid_tools"
            )
        cleaned["disabled_tools"] = sorted(set(names))
    if "client_id" in values:
        cleaned["client_id"] = str(values["client_id"] or "").strip()[:255]
    if "enabled" in values:
        cleaned["enabled"] = bool(values["enabled"])
    return cleaned


def create_connection(
    *,
    org: Any,
    name: str,
    provider: str,
    client_secret: str = "",
    caller: Caller | None = None,
    request: HttpRequest | None = None,
    **values: Any,
) -> Connection:
    spec = get_provider(provider)
    if spec is None:
        raise Invalid(f"Unknown provider {provider!r}.", code="unknown_provider")
    name = slugify(name or provider)
    if not name or not NAME.match(name) or name == "new":
        raise Invalid(
            "Give the connection a name: lowercase letters, digits, '-' and single '_'.",
            code="name_required",
        )
    if len(name) > CONNECTION_NAME_LIMIT:
        # Tool names are qualified with it (<connection>__<tool>) and must fit the 64
        # characters model APIs allow.
        raise Invalid(
            f"A connection's name has at most {CONNECTION_NAME_LIMIT} characters.",
            code="name_too_long",
        )
    cleaned = _clean(values, spec)
    cleaned.setdefault("scopes", list(spec.default_scopes))
    connection = Connection(organization=org, name=name, provider=provider, **cleaned)
    if client_secret:
        connection.set_secret("client_secret_sealed", client_secret)
    try:
        with transaction.atomic():
            connection.save(force_insert=True)
            _audit(connection, "connection.created", caller, request, cleaned, client_secret)
    except IntegrityError:
        raise Conflict(
            f"A connection named {name!r} already exists.", code="duplicate_name"
        ) from None
    return connection


def update_connection(
    *,
    connection: Connection,
    client_secret: str | None = None,
    caller: Caller | None = None,
    request: HttpRequest | None = None,
    **values: Any,
) -> Connection:
    cleaned = _clean(
        {k: v for k, v in values.items() if k in EDITABLE_FIELDS},
        connection.provider_spec,
        existing=connection,
    )
    for field, value in cleaned.items():
        setattr(connection, field, value)
    if client_secret:
        connection.set_secret("client_secret_sealed", client_secret)
    with transaction.atomic():
        connection.save()
        _audit(connection, "connection.updated", caller, request, cleaned, client_secret)
    return connection


def delete_connection(
    *, connection: Connection, caller: Caller | None = None, request: HttpRequest | None = None
) -> dict[str, int]:
    """Revoke every account's tokens at the provider (best effort, in parallel), then
    delete the connection with its accounts. Revocation failures are audited; they
    never block the delete."""
    holding = list(
        ConnectedAccount.objects.for_org(connection.organization)
        .filter(connection=connection)
        .exclude(token_set_sealed="")
        .select_related("connection", "organization")
    )

    def revoke(account: ConnectedAccount) -> tuple[ConnectedAccount, bool, str]:
        try:
            return (account, *accounts.revoke_at_provider(account))
        finally:
            close_old_connections()

    with ThreadPoolExecutor(max_workers=REVOKE_WORKERS) as pool:
        results = list(pool.map(revoke, holding))
    failed = [(account, error) for account, revoked, error in results if not revoked]
    with transaction.atomic():
        for account, error in failed:
            accounts.record_account_event(
                account,
                "connected_account.revoke_failed",
                caller=caller,
                request=request,
                outcome=AuditEvent.Outcome.FAILURE,
                revoke_error=error,
            )
        _audit(
            connection,
            "connection.deleted",
            caller,
            request,
            {},
            None,
            extra={"accounts_revoked": len(results) - len(failed), "revoke_failures": len(failed)},
        )
        connection.delete()
    return {"revoked": len(results) - len(failed), "failed": len(failed)}


def _audit(
    connection: Connection,
    action: str,
    caller: Caller | None,
    request: HttpRequest | None,
    changed: dict,
    client_secret: Any,
    extra: dict | None = None,
) -> None:
    trail.record(
        action=action,
        organization=connection.organization,
        caller=caller,
        request=request,
        target_type="connection",
        target_id=connection.name,
        metadata={
            "provider": connection.provider,
            "changed": sorted(changed),
            "client_secret_changed": bool(client_secret),
            **(extra or {}),
        },
    )


def get_connection(org: Any, name: str, *, enabled_only: bool = False) -> Connection:
    connections = Connection.objects.for_org(org)
    if enabled_only:
        connections = connections.filter(enabled=True)
    connection = connections.filter(name=name).first() if isinstance(name, str) else None
    if connection is None:
        raise NotFound(f"No connection named {name!r}.", code="connection_not_found")
    return connection
