"""MCP clients: how they register, and which may connect to an organization.

Three ways in (DESIGN §10): a Client ID Metadata Document (the client_id is an https
URL the portal fetches, through the egress policy), Dynamic Client Registration
(RFC 7591: open, rate-limited per IP; registrations nobody used expire), and clients an
admin registers for the organization. django-oauth-toolkit runs the protocol; this
module supplies its policy hooks and the admin operations.
"""

from __future__ import annotations

import contextvars
import json
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.http import HttpRequest
from django.utils import timezone
from oauth2_provider.cimd import CIMDError
from oauth2_provider.generators import generate_client_secret
from oauth2_provider.models import AccessToken, Application, Grant, RefreshToken
from oauth2_provider.settings import oauth2_settings

from audit import trail
from core import outbound
from core.errors import Invalid
from mcpserver.models import McpPolicy
from portal.callers import Caller

MAX_AGE = re.compile(r"max-age\s*=\s*(\d+)", re.IGNORECASE)
DOCUMENT_LIMIT = 16 * 1024
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "[::1]", "::1"}


# --- The one rule for what a client may be (DESIGN §13 rule 25) -----------------------------


def supported_grant_types() -> frozenset[str]:
    """What the authorization server issues: exactly what its metadata advertises."""
    return frozenset(oauth2_settings.OAUTH2_GRANT_TYPES_SUPPORTED)


class ClientMetadataError(Exception):
    """Client metadata the portal does not accept; `error` is the RFC 7591 code."""

    def __init__(self, description: str, *, error: str = "invalid_client_metadata") -> None:
        super().__init__(description)
        self.error = error
        self.description = description


def check_client_metadata(metadata: Any, *, public_only: bool = False) -> dict[str, Any]:
    """Every way a client comes to exist or change — RFC 7591 registration, RFC 7592
    update, a Client ID Metadata Document, an admin's registration — passes here before
    anything is stored or any credential looked at: the grant types the server issues
    (`authorization_code`, with `refresh_token`), the `code` response type, redirect URIs
    (https; plain http only to loopback; desktop clients' schemes), known scopes and token
    endpoint authentication methods. Returns the metadata; raises ClientMetadataError."""
    if not isinstance(metadata, dict):
        raise ClientMetadataError("The client metadata must be a JSON object.")
    grant_types = metadata.get("grant_types", ["authorization_code"])
    if not isinstance(grant_types, list) or not all(isinstance(g, str) for g in grant_types):
        raise ClientMetadataError("grant_types must be a list of strings.")
    unsupported = sorted(set(grant_types) - supported_grant_types())
    if unsupported:
        raise ClientMetadataError(
            f"Unsupported grant type(s): {', '.join(unsupported)[:200]}. This server issues "
            f"only {', '.join(sorted(supported_grant_types()))}."
        )
    if "authorization_code" not in grant_types:
        raise ClientMetadataError("grant_types must include authorization_code.")
    response_types = metadata.get("response_types", ["code"])
    if response_types != ["code"]:
        raise ClientMetadataError('response_types must be ["code"].')
    check_redirect_uris(
        metadata.get("redirect_uris"),
        error=lambda message: ClientMetadataError(message, error="invalid_redirect_uri"),
    )
    methods = oauth2_settings.OAUTH2_TOKEN_ENDPOINT_AUTH_METHODS_SUPPORTED
    method = metadata.get("token_endpoint_auth_method", "none" if public_only else None)
    if method is not None and method not in methods:
        raise ClientMetadataError(
            f"token_endpoint_auth_method must be one of {', '.join(methods)}."
        )
    if public_only and method != "none":
        raise ClientMetadataError("A client metadata document describes a public client.")
    scope = metadata.get("scope", "")
    if not isinstance(scope, str) or not set(scope.split()) <= set(settings.MCP_SCOPES):
        raise ClientMetadataError(f"scope may name only {', '.join(sorted(settings.MCP_SCOPES))}.")
    name = metadata.get("client_name", "")
    if not isinstance(name, str) or len(name) > 255:
        raise ClientMetadataError("client_name must be text of up to 255 characters.")
    return metadata


def registration_allowed(request: HttpRequest) -> bool:
    """RFC 7591 registration needs no credentials (MCP clients cannot have any yet), so
    it is limited to MCP_REGISTRATIONS_PER_HOUR per client address."""
    key = f"mcp:dcr:{request.META.get('REMOTE_ADDR', '')}"
    cache.add(key, 0, 3600)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, 3600)
        count = 1
    return count <= settings.MCP_REGISTRATIONS_PER_HOUR


# --- Client ID Metadata Documents --------------------------------------------------------


class FetchSlots:
    """Metadata documents are fetched for callers nobody has authenticated yet. Each fetch
    has one total deadline (CIMD_FETCH_TIMEOUT_SECONDS) and at most
    MCP_METADATA_FETCHES_PER_ADDRESS run at once per source address (per process; the
    whole process is capped by CIMD_MAX_CONCURRENT_FETCHES): one address cannot take the
    slots that other people's new clients need to sign in."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.in_flight: dict[str, int] = {}

    def has_room(self, address: str) -> bool:
        with self.lock:
            return self.in_flight.get(address, 0) < settings.MCP_METADATA_FETCHES_PER_ADDRESS

    @contextmanager
    def held(self, address: str) -> Iterator[None]:
        with self.lock:
            self.in_flight[address] = self.in_flight.get(address, 0) + 1
        try:
            yield
        finally:
            with self.lock:
                self.in_flight[address] -= 1
                if not self.in_flight[address]:
                    del self.in_flight[address]


fetch_slots = FetchSlots()
# The address the fetch in progress on this thread is made for (set by the permission
# check that django-oauth-toolkit runs right before it fetches).
fetching_for: contextvars.ContextVar[str] = contextvars.ContextVar("fetching_for", default="")


class PerAddressFetchPermission:
    """django-oauth-toolkit's CIMD permission hook: refuse a fetch while this address has
    its share in flight (a refusal is not a failure: the document's URL is not backed off,
    so an attacker cannot lock a real client out)."""

    def has_permission(self, request: Any, client_id: str) -> bool:
        address = (getattr(request, "headers", None) or {}).get("REMOTE_ADDR", "")
        fetching_for.set(address)
        return fetch_slots.has_room(address)


class GuardedMetadataFetcher:
    """Fetches a client's metadata document through the portal's one outbound transport:
    the egress policy (no private addresses unless allowed), no redirects, no cookies, one
    total deadline and a 16 KB cap; then the one metadata rule."""

    def fetch(self, client_id: str) -> tuple[dict[str, Any], int]:
        parts = urlsplit(client_id)
        if parts.scheme != "https" or not parts.hostname or not parts.path.strip("/"):
            raise CIMDError("client_id must be an https URL with a path")
        if parts.username or parts.password or parts.fragment:
            raise CIMDError("client_id must not carry credentials or a fragment")
        try:
            with fetch_slots.held(fetching_for.get()):
                response = outbound.send(
                    "GET",
                    client_id,
                    what="client metadata document",
                    headers={"Accept": "application/json"},
                    deadline=float(oauth2_settings.CIMD_FETCH_TIMEOUT_SECONDS),
                    max_bytes=DOCUMENT_LIMIT,
                )
        except outbound.OutboundError as exc:
            raise CIMDError(exc.message) from None
        if response.status_code != 200:
            raise CIMDError(f"the document answered HTTP {response.status_code}")
        media_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
        if media_type != "application/json" and not media_type.endswith("+json"):
            raise CIMDError("the document is not JSON")
        try:
            document = json.loads(response.content)
        except ValueError:
            raise CIMDError("the document is not valid JSON") from None
        if not isinstance(document, dict):
            raise CIMDError("the document is not a JSON object")
        if document.get("client_id") != client_id:
            raise CIMDError("the document's client_id is not its own URL")
        try:
            check_client_metadata(document, public_only=True)
        except ClientMetadataError as exc:
            raise CIMDError(exc.description) from None
        return document, _max_age(response.headers.get("cache-control", ""))


def _max_age(cache_control: str) -> int:
    """How long to trust the document: its max-age, between 5 minutes and a day."""
    match = MAX_AGE.search(cache_control)
    age = int(match.group(1)) if match else 86400
    if "no-store" in cache_control or "no-cache" in cache_control:
        age = 0
    return max(300, min(age, 86400))


def check_redirect_uris(uris: Any, *, error: Callable[[str], Exception]) -> list[str]:
    """https anywhere; plain http only to the person's own machine (RFC 8252 loopback);
    the custom schemes of desktop clients (cursor://, vscode://)."""
    if not isinstance(uris, list) or not uris or not all(isinstance(u, str) for u in uris):
        raise error("redirect_uris must be a non-empty list of URLs")
    allowed = set(settings.OAUTH2_PROVIDER["ALLOWED_REDIRECT_URI_SCHEMES"])
    for uri in uris:
        parts = urlsplit(uri)
        if parts.scheme not in allowed or parts.fragment:
            raise error(f"redirect URI {uri[:100]!r} is not allowed")
        if parts.scheme == "http" and (parts.hostname or "") not in LOOPBACK_HOSTS:
            raise error(f"redirect URI {uri[:100]!r}: plain http only to localhost")
        if parts.scheme in ("https", "http") and not parts.hostname:
            raise error(f"redirect URI {uri[:100]!r} has no host")
    return uris


def check_application(application: Application) -> None:
    """The same rule for a row about to be stored, whatever path wrote it (the last line
    of defence: a path that skipped check_client_metadata fails closed)."""
    if application.authorization_grant_type != Application.GRANT_AUTHORIZATION_CODE:
        raise ValidationError("MCP clients use the authorization code grant only.")
    check_redirect_uris(application.redirect_uris.split(), error=ValidationError)


# --- The organization's policy ------------------------------------------------------------


def policy_of(organization) -> McpPolicy:
    policy, _ = McpPolicy.objects.get_or_create(organization=organization)
    return policy


def update_policy(
    *,
    caller: Caller,
    enabled: bool,
    allowed_client_ids: list[str],
    approval_policy: str,
    request: HttpRequest | None = None,
) -> McpPolicy:
    caller.require_manager()
    if approval_policy not in McpPolicy.Approval.values:
        raise Invalid("Unknown approval policy.", code="invalid_approval_policy")
    cleaned = sorted({client_id.strip() for client_id in allowed_client_ids if client_id.strip()})
    if any(len(client_id) > 255 for client_id in cleaned):
        raise Invalid("A client id is longer than 255 characters.", code="invalid_client_id")
    with transaction.atomic():
        policy = policy_of(caller.organization)
        policy.enabled = enabled
        policy.allowed_client_ids = cleaned
        policy.approval_policy = approval_policy
        policy.save()
        trail.record(
            action="mcp.policy_changed",
            organization=caller.organization,
            caller=caller,
            request=request,
            target_type="mcp_policy",
            target_id=policy.pk,
            metadata={
                "enabled": enabled,
                "allowed_client_ids": cleaned,
                "approval_policy": approval_policy,
            },
        )
    return policy


def register_client(
    *,
    caller: Caller,
    name: str,
    redirect_uris: list[str],
    confidential: bool,
    request: HttpRequest | None = None,
) -> tuple[Application, str]:
    """An admin registers a client for the organization (added to its allow-list when it
    has one). Returns the client and, for a confidential one, its secret (shown once)."""
    caller.require_manager()
    name = (name or "").strip()
    if not name or len(name) > 255:
        raise Invalid("Give the client a name (up to 255 characters).", code="invalid_name")
    uris = [uri.strip() for uri in redirect_uris if uri.strip()]
    try:
        check_client_metadata(
            {
                "client_name": name,
                "redirect_uris": uris,
                "token_endpoint_auth_method": "client_secret_basic" if confidential else "none",
            }
        )
    except ClientMetadataError as exc:
        raise Invalid(exc.description, code=exc.error) from None
    secret = generate_client_secret() if confidential else ""
    with transaction.atomic():
        application = Application(
            name=name,
            redirect_uris=" ".join(uris),
            client_type=Application.CLIENT_CONFIDENTIAL
            if confidential
            else Application.CLIENT_PUBLIC,
            authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
            client_secret=secret,
            hash_client_secret=True,
            algorithm="",
        )
        application.full_clean(exclude=["client_secret", "user"])
        application.save()
        policy = policy_of(caller.organization)
        if policy.allowed_client_ids:
            policy.allowed_client_ids = sorted({*policy.allowed_client_ids, application.client_id})
            policy.save(update_fields=["allowed_client_ids", "updated_at"])
        trail.record(
            action="mcp.client_registered",
            organization=caller.organization,
            caller=caller,
            request=request,
            target_type="mcp_client",
            target_id=application.client_id,
            metadata={"name": name, "how": "admin", "redirect_hosts": _hosts(uris)},
        )
    return application, secret


def _hosts(uris: list[str]) -> list[str]:
    return sorted({urlsplit(uri).hostname or urlsplit(uri).scheme for uri in uris})


def redirect_host(application: Application) -> str:
    """The host a consent sends the person's authorization to, shown prominently."""
    uris = application.redirect_uris.split()
    return ", ".join(_hosts(uris)) if uris else "(none)"


def prune_unused_clients() -> dict[str, int]:
    """Delete self-registered clients (RFC 7591) that nobody authorized within
    MCP_UNUSED_CLIENT_DAYS: anyone can register, so unused rows must not pile up. (Their
    own RFC 7592 registration token, for no user, does not count as use.)"""
    cutoff = timezone.now() - timedelta(days=settings.MCP_UNUSED_CLIENT_DAYS)
    used = (
        Exists(Grant.objects.filter(application=OuterRef("pk")))
        | Exists(AccessToken.objects.filter(application=OuterRef("pk"), user__isnull=False))
        | Exists(RefreshToken.objects.filter(application=OuterRef("pk")))
    )
    unused = Application.objects.filter(
        registration_source=Application.RegistrationSource.DCR, created__lt=cutoff
    ).exclude(used)
    deleted, _ = unused.delete()
    return {"deleted": deleted}
