"""MCP clients: how they register, and which may connect to an organization.

Three ways in (DESIGN §10): a Client ID Metadata Document (the client_id is an https
URL the portal fetches, through the egress policy), Dynamic Client Registration
(RFC 7591: open, rate-limited per IP; registrations nobody used expire), and clients an
admin registers for the organization. django-oauth-toolkit runs the protocol; this
module supplies its policy hooks and the admin operations.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.http import HttpRequest
from django.utils import timezone
from oauth2_provider.cimd import CIMDError
from oauth2_provider.generators import generate_client_secret
from oauth2_provider.models import AccessToken, Application, Grant, RefreshToken

from audit import trail
from core import outbound
from core.errors import Invalid, NotFound
from mcpserver.models import McpPolicy
from portal.callers import Caller

MAX_AGE = re.compile(r"max-age\s*=\s*(\d+)", re.IGNORECASE)
DOCUMENT_LIMIT = 16 * 1024
METADATA_DEADLINE_SECONDS = 5.0  # the whole fetch: connect, send, the whole document
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "[::1]", "::1"}


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


class GuardedMetadataFetcher:
    """Fetches a client's metadata document through the portal's one outbound transport:
    the egress policy (no private addresses unless allowed), no redirects, a short
    timeout and a 16 KB cap."""

    def fetch(self, client_id: str) -> tuple[dict[str, Any], int]:
        parts = urlsplit(client_id)
        if parts.scheme != "https" or not parts.hostname or not parts.path.strip("/"):
            raise CIMDError("client_id must be an https URL with a path")
        if parts.username or parts.password or parts.fragment:
            raise CIMDError("client_id must not carry credentials or a fragment")
        try:
            response = outbound.send(
                "GET",
                client_id,
                what="client metadata document",
                headers={"Accept": "application/json"},
                deadline=METADATA_DEADLINE_SECONDS,
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
        check_redirect_uris(document.get("redirect_uris"), error=CIMDError)
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
    uris = check_redirect_uris(
        [uri.strip() for uri in redirect_uris if uri.strip()],
        error=lambda message: Invalid(message, code="invalid_redirect_uri"),
    )
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


def find_client(client_id: str) -> Application:
    application = Application.objects.filter(client_id=client_id).first()
    if application is None:
        raise NotFound("No such client.")
    return application


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
