"""Identity Assertion JWT Authorization Grants (ID-JAG,
draft-ietf-oauth-identity-assertion-authz-grant; Okta's Cross App Access): the checks the
portal's authorization server makes on an assertion presented with the JWT bearer grant
(RFC 7523), before it issues an MCP access token without a consent screen.

An assertion is accepted only when all of these hold — each refusal says which:
  * its header `typ` is `oauth-id-jag+jwt`;
  * its issuer is trusted by an organization (identity/trust.py), and its signature
    verifies with that provider's keys (keys refetched once when the key id is unknown);
  * `aud` is this authorization server's issuer; `resource` is this portal's /mcp;
  * `client_id` is the client presenting it;
  * `exp` is in the future (and at most MAX_LIFETIME away), `iat` not in the future;
  * `jti` was never presented before (a replay is refused);
  * it names a member of that organization: `email`, else `sub` as the externalId the
    same provider gave over SCIM.
The organization is the issuer's; it is never looked up from the person or the client.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from core.errors import Invalid
from identity import trust
from identity.models import AssertionUse, ScimUser, TrustedIssuer
from portal.models import Membership

logger = logging.getLogger(__name__)

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
ID_JAG_TYPE = "oauth-id-jag+jwt"
ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "ES256", "ES384", "EdDSA"]
LEEWAY_SECONDS = 30
MAX_LIFETIME = timedelta(hours=1)
KEY_REFRESH_SECONDS = 60  # at most one refetch of a provider's keys per minute


class AssertionRefused(Exception):
    """The assertion is not accepted; `message` says why (sent as invalid_grant), and
    `organization` is set once the issuer named one (the refusal is audited there)."""

    def __init__(self, message: str, organization: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.organization = organization


@dataclass(frozen=True)
class Assertion:
    issuer: TrustedIssuer
    membership: Membership
    scopes: frozenset[str]
    jti: str
    subject: str


def authorization_server_issuer() -> str:
    return settings.OAUTH2_PROVIDER.get("OIDC_ISS_ENDPOINT") or settings.PORTAL_BASE_URL


def verify(raw: str, *, client_id: str) -> Assertion:
    try:
        unverified = jws.extract_compact(raw.encode())
    except (JoseError, ValueError, UnicodeError):
        raise AssertionRefused("The assertion is not a JWT.") from None
    if str(unverified.protected.get("typ", "")).lower() != ID_JAG_TYPE:
        raise AssertionRefused(f"The assertion's typ is not {ID_JAG_TYPE}.")
    claims = _json_object(unverified.payload)
    issuer = (
        TrustedIssuer.objects.select_related("organization")
        .filter(issuer=str(claims.get("iss", "")).rstrip("/"), enabled=True)
        .first()
    )
    if issuer is None:
        raise AssertionRefused("The assertion's issuer is not trusted here.")
    claims = _verified_claims(raw, issuer, str(unverified.protected.get("kid", "")))
    _check_claims(claims, issuer=issuer, client_id=client_id)
    membership = _member(issuer, claims)
    _spend(issuer, claims)
    scopes = frozenset(str(claims.get("scope") or "tools:read").split())
    return Assertion(issuer, membership, scopes, str(claims["jti"]), str(claims.get("sub", "")))


def _json_object(payload: bytes) -> dict:
    try:
        value = json.loads(payload)
    except ValueError:
        raise AssertionRefused("The assertion's claims are not JSON.") from None
    if not isinstance(value, dict):
        raise AssertionRefused("The assertion's claims are not a JSON object.")
    return value


def _verified_claims(raw: str, issuer: TrustedIssuer, kid: str) -> dict:
    keys = KeySet.import_key_set(issuer.jwks)
    known = {key.kid for key in keys.keys}
    fetched = issuer.jwks_fetched_at
    if (
        kid
        and kid not in known
        and (fetched is None or timezone.now() - fetched > timedelta(seconds=KEY_REFRESH_SECONDS))
    ):
        try:
            issuer.jwks = trust.fetch_keys(issuer.jwks_uri)
        except Invalid:  # the provider is away: decide with the keys we have
            logger.warning("could not refetch the keys of %s", issuer.issuer)
        else:
            issuer.jwks_fetched_at = timezone.now()
            TrustedIssuer.objects.filter(pk=issuer.pk).update(
                jwks=issuer.jwks, jwks_fetched_at=issuer.jwks_fetched_at
            )
            keys = KeySet.import_key_set(issuer.jwks)
    try:
        return dict(jwt.decode(raw, keys, algorithms=ALGORITHMS).claims)
    except (JoseError, ValueError):
        raise AssertionRefused(
            "The assertion's signature does not verify.", issuer.organization
        ) from None


def _check_claims(claims: dict, *, issuer: TrustedIssuer, client_id: str) -> None:
    org = issuer.organization
    if str(claims.get("iss", "")).rstrip("/") != issuer.issuer:
        raise AssertionRefused("The assertion's issuer changed under its signature.", org)
    audience = claims.get("aud")
    audiences = audience if isinstance(audience, list) else [audience]
    if authorization_server_issuer() not in audiences:
        raise AssertionRefused("The assertion is for another authorization server (aud).", org)
    resource = claims.get("resource")
    resources = resource if isinstance(resource, list) else [resource]
    if settings.MCP_RESOURCE_URL not in resources:
        raise AssertionRefused("The assertion is not for this MCP server (resource).", org)
    if not client_id or claims.get("client_id") != client_id:
        raise AssertionRefused("The assertion was issued to another client (client_id).", org)
    now = time.time()
    expires, issued = claims.get("exp"), claims.get("iat")
    if not isinstance(expires, int | float) or expires <= now - LEEWAY_SECONDS:
        raise AssertionRefused("The assertion has expired.", org)
    if expires > now + MAX_LIFETIME.total_seconds():
        raise AssertionRefused("The assertion lives too long.", org)
    if isinstance(issued, int | float) and issued > now + LEEWAY_SECONDS:
        raise AssertionRefused("The assertion is issued in the future (iat).", org)
    if not isinstance(claims.get("jti"), str) or not claims["jti"]:
        raise AssertionRefused("The assertion has no jti.", org)


def _member(issuer: TrustedIssuer, claims: dict) -> Membership:
    org = issuer.organization
    members = Membership.objects.for_org(org).select_related("user", "organization")
    email = claims.get("email")
    membership = (
        members.filter(user__email__iexact=email).first() if isinstance(email, str) else None
    )
    subject = claims.get("sub")
    if membership is None and isinstance(subject, str) and subject:
        provisioned = ScimUser.objects.for_org(org).filter(
            external_id=subject, user__isnull=False, active=True
        )
        membership = members.filter(user__in=provisioned.values("user")).first()
    if membership is None:
        raise AssertionRefused("The assertion names nobody who is a member here.", org)
    return membership


def _spend(issuer: TrustedIssuer, claims: dict) -> None:
    """Record the jti; a second presentation of it is a replay."""
    expires = datetime.fromtimestamp(float(claims["exp"]), tz=UTC)
    try:
        with transaction.atomic():
            AssertionUse.objects.create(
                organization=issuer.organization,
                issuer=issuer,
                jti=str(claims["jti"])[:255],
                expires_at=expires,
            )
    except IntegrityError:
        raise AssertionRefused(
            "The assertion was already used (jti).", issuer.organization
        ) from None


def prune_spent() -> int:
    """Forget jtis whose assertions expired (they are refused as expired anyway)."""
    deleted, _ = AssertionUse.objects.filter(
        expires_at__lt=timezone.now() - timedelta(seconds=LEEWAY_SECONDS)
    ).delete()
    return deleted
