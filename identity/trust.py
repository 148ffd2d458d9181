"""Trusted identity providers for enterprise-managed agent access (ID-JAG): an owner or
admin names the provider's issuer; the portal reads its metadata (RFC 8414 or OpenID
discovery) for the JWKS and keeps the keys. Every fetch goes through the guarded
transport (egress policy, deadline, capped answer)."""

from __future__ import annotations

import json
from typing import Any

from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from audit import trail
from core import egress, outbound
from core.errors import Conflict, Invalid, NotFound
from core.tenancy import as_uuid
from identity.models import TrustedIssuer
from portal.callers import Caller

METADATA_PATHS = ("/.well-known/oauth-authorization-server", "/.well-known/openid-configuration")
FETCH_SECONDS = 5.0
MAX_BYTES = 256 * 1024


def issuers_of(*, caller: Caller):
    return TrustedIssuer.objects.for_org(caller.organization)


def add_issuer(*, caller: Caller, issuer: str, request: HttpRequest | None = None) -> TrustedIssuer:
    caller.require_manager()
    issuer = (issuer or "").strip().rstrip("/")
    egress.check_url(issuer, field="issuer")
    jwks_uri = _jwks_uri(issuer)
    keys = fetch_keys(jwks_uri)
    try:
        with transaction.atomic():
            trusted = TrustedIssuer.objects.create(
                organization=caller.organization,
                issuer=issuer,
                jwks_uri=jwks_uri,
                jwks=keys,
                jwks_fetched_at=timezone.now(),
                created_by=caller.user,
            )
            _audit(caller, "trusted_issuer.added", trusted, request, keys=len(keys["keys"]))
    except IntegrityError:
        raise Conflict(
            "This identity provider is already trusted (by this or another organization).",
            code="issuer_taken",
        ) from None
    return trusted


def remove_issuer(*, caller: Caller, issuer_id: Any, request: HttpRequest | None = None) -> None:
    caller.require_manager()
    key = as_uuid(issuer_id)
    trusted = issuers_of(caller=caller).filter(pk=key).first() if key else None
    if trusted is None:
        raise NotFound("No such identity provider.")
    with transaction.atomic():
        _audit(caller, "trusted_issuer.removed", trusted, request)
        trusted.delete()


def _get_json(url: str, what: str) -> dict:
    try:
        response = outbound.send(
            "GET",
            url,
            what=what,
            headers={"Accept": "application/json"},
            deadline=FETCH_SECONDS,
            max_bytes=MAX_BYTES,
        )
    except outbound.OutboundError as exc:
        raise Invalid(
            f"Could not read the {what}: {exc.message}", code="issuer_unreachable"
        ) from None
    try:
        data = json.loads(response.text) if response.status_code == 200 else None
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise Invalid(
            f"The {what} at {url} did not answer with JSON (HTTP {response.status_code}).",
            code="issuer_unreachable",
        )
    return data


def _jwks_uri(issuer: str) -> str:
    for path in METADATA_PATHS:
        try:
            metadata = _get_json(issuer + path, "identity provider's metadata")
        except Invalid:
            continue
        if metadata.get("issuer", "").rstrip("/") != issuer:
            raise Invalid("The provider's metadata names another issuer.", code="issuer_mismatch")
        jwks_uri = metadata.get("jwks_uri")
        if isinstance(jwks_uri, str):
            return egress.check_url(jwks_uri, field="jwks_uri")
    raise Invalid(
        "No metadata with a jwks_uri under this issuer (RFC 8414 or OpenID discovery).",
        code="issuer_unreachable",
    )


def fetch_keys(jwks_uri: str) -> dict:
    """The provider's public keys (a JWKS), checked to parse."""
    keys = _get_json(jwks_uri, "identity provider's keys")
    try:
        KeySet.import_key_set(keys)  # type: ignore[arg-type]
    except (JoseError, ValueError, TypeError, KeyError):
        raise Invalid("The provider's JWKS does not parse.", code="invalid_jwks") from None
    if not keys.get("keys"):
        raise Invalid("The provider's JWKS has no keys.", code="invalid_jwks")
    return keys


def _audit(caller: Caller, action: str, trusted: TrustedIssuer, request, **metadata: Any) -> None:
    trail.record(
        action=action,
        organization=caller.organization,
        caller=caller,
        request=request,
        target_type="trusted_issuer",
        target_id=trusted.issuer[:255],
        metadata=metadata,
    )
