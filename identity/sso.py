"""Single sign-on per organization (OpenID Connect or SAML 2.0, through django-allauth's
`openid_connect` and `saml` providers): set-up, who may sign in where, just-in-time
membership with group-mapped roles, and "require SSO".

* A person starts at /sso/ with their work email; its domain, verified by one
  organization (identity/domains.py), names the organization and so its identity
  provider. The provider's answer must carry an email in one of that organization's
  verified domains, else the sign-in is refused (audited `sso.sign_in_failed`).
* The first SSO sign-in links an existing portal account with that email, or makes one;
  every SSO sign-in makes them a member (`provision_member`) with the role of their
  groups (`group_roles`, by the `groups_claim` claim), else the default role — never
  owner; an owner stays owner. Audited `sso.signed_in`.
* `require_sso`: a member whose email is in a verified domain of the organization can no
  longer sign in with a password (audited `sso.password_refused`); owners keep the
  password sign-in as the break-glass path when the provider is down.
* The client secret is sealed in the vault; allauth gets it in an in-memory SocialApp
  only when it needs it, and its HTTP goes through the guarded transport.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from allauth.socialaccount.models import SocialApp
from cryptography import x509
from django.db import transaction
from django.http import HttpRequest

from audit import trail
from core import egress
from core.errors import Forbidden, Invalid
from core.tenancy import as_uuid
from identity import domains
from identity.models import ScimUser, SsoConnection, VerifiedDomain
from identity.scim import MAPPABLE_ROLES, ROLE_RANK
from portal import organizations
from portal.callers import Caller
from portal.middleware import SESSION_ORG_KEY
from portal.models import Membership, Organization, Role, User

# Where a SAML answer carries what allauth needs (common names of Okta, Entra ID, Google).
SAML_ATTRIBUTES = {
    "uid": ["urn:oasis:names:tc:SAML:attribute:subject-id", "uid"],
    "email": [
        "email",
        "mail",
        "urn:oid:0.9.2342.19200300.100.1.3",
        "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress",
    ],
    "first_name": ["firstName", "givenName", "urn:oid:2.5.4.42"],
    "last_name": ["lastName", "surname", "urn:oid:2.5.4.4"],
}


class SsoRefused(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def connection_of(*, caller: Caller) -> SsoConnection | None:
    return SsoConnection.objects.for_org(caller.organization).first()


def configure(
    *,
    caller: Caller,
    issuer: str,
    client_id: str = "",
    client_secret: str = "",
    protocol: str = SsoConnection.Protocol.OIDC,
    sso_url: str = "",
    x509cert: str = "",
    default_role: str = Role.MEMBER,
    groups_claim: str = "groups",
    group_roles: dict[str, str] | None = None,
    require_sso: bool = False,
    request: HttpRequest | None = None,
) -> SsoConnection:
    """Set up (or change) the organization's single sign-on. Owners only: it decides who
    can sign in to the whole organization."""
    if caller.role != Role.OWNER:
        raise Forbidden("Only owners set up single sign-on.")
    if protocol not in SsoConnection.Protocol.values:
        raise Invalid("Single sign-on is OpenID Connect or SAML.", code="invalid_protocol")
    issuer = (issuer or "").strip().rstrip("/")
    client_id = (client_id or "").strip()
    if protocol == SsoConnection.Protocol.OIDC:
        egress.check_url(issuer, field="issuer")
        if not client_id:
            raise Invalid(
                "Enter the client id the identity provider gave.", code="client_id_required"
            )
    else:
        sso_url, x509cert = _saml_endpoint(issuer, sso_url, x509cert)
    roles = dict(group_roles or {})
    for role in [default_role, *roles.values()]:
        if role not in MAPPABLE_ROLES:
            raise Invalid(
                f"Roles come from {', '.join(MAPPABLE_ROLES)}; {role!r} is not one.",
                code="invalid_role",
            )
    with transaction.atomic():
        connection = connection_of(caller=caller) or SsoConnection(organization=caller.organization)
        if client_secret:
            connection.set_secret("client_secret_sealed", client_secret)
        elif protocol == SsoConnection.Protocol.OIDC and not connection.has_secret(
            "client_secret_sealed"
        ):
            raise Invalid("Enter the client secret.", code="client_secret_required")
        connection.protocol, connection.sso_url, connection.x509cert = protocol, sso_url, x509cert
        connection.issuer, connection.client_id = issuer, client_id[:255]
        connection.default_role, connection.groups_claim = default_role, groups_claim[:100]
        connection.group_roles, connection.require_sso = roles, bool(require_sso)
        connection.enabled = True
        connection.save()
        trail.record(
            action="sso.configured",
            organization=caller.organization,
            caller=caller,
            request=request,
            target_type="sso",
            target_id=issuer[:255],
            metadata={
                "protocol": protocol,
                "client_id": connection.client_id,
                "default_role": default_role,
                "group_roles": roles,
                "require_sso": connection.require_sso,
            },
        )
    return connection


def _saml_endpoint(entity_id: str, sso_url: str, x509cert: str) -> tuple[str, str]:
    """A SAML provider's sign-in URL and signing certificate, checked."""
    if not entity_id:
        raise Invalid("Enter the identity provider's entity id.", code="entity_id_required")
    sso_url = egress.check_url((sso_url or "").strip(), field="sso_url")
    body = "".join(
        line.strip() for line in (x509cert or "").splitlines() if "CERTIFICATE" not in line
    )
    try:
        x509.load_der_x509_certificate(base64.b64decode(body, validate=True))
    except (ValueError, binascii.Error):
        raise Invalid(
            "Paste the identity provider's signing certificate (PEM or base64).",
            code="invalid_certificate",
        ) from None
    return sso_url, body


def connection_for_email(email: str) -> SsoConnection | None:
    """The single sign-on of the organization that verified this email's domain."""
    host = (email or "").rsplit("@", 1)[-1].strip().lower()
    verified = VerifiedDomain.objects.filter(domain=host, verified_at__isnull=False).first()
    if verified is None:
        return None
    return (
        SsoConnection.objects.for_org(verified.organization_id)
        .filter(enabled=True)
        .select_related("organization")
        .first()
    )


def connection_for_provider(provider_id: str) -> SsoConnection | None:
    key = as_uuid(provider_id[4:]) if provider_id.startswith("sso-") else None
    if key is None:
        return None
    return SsoConnection.objects.filter(enabled=True, pk=key).select_related("organization").first()


def social_app(connection: SsoConnection) -> SocialApp:
    """The connection as django-allauth's OpenID Connect or SAML provider reads an app
    (in memory: never saved, so the secret stays in the vault)."""
    if connection.protocol == SsoConnection.Protocol.SAML:
        return SocialApp(
            provider="saml",
            provider_id=connection.provider_id,
            name=connection.organization.name,
            client_id=connection.provider_id,  # the "organization slug" of allauth's URLs
            settings={
                "idp": {
                    "entity_id": connection.issuer,
                    "sso_url": connection.sso_url,
                    "x509cert": connection.x509cert,
                },
                "attribute_mapping": SAML_ATTRIBUTES,
                "use_nameid_for_email": False,
                # Only addresses in the organization's verified domains get in (admit).
                "verified_email": True,
                "advanced": {
                    "want_assertion_signed": True,
                    "reject_idp_initiated_sso": True,
                    "strict": True,
                },
            },
        )
    return SocialApp(
        provider="openid_connect",
        provider_id=connection.provider_id,
        name=connection.organization.name,
        client_id=connection.client_id,
        secret=connection.get_secret("client_secret_sealed") or "",
        settings={
            "server_url": f"{connection.issuer}/.well-known/openid-configuration",
            "oauth_pkce_enabled": True,
            # Only addresses in the organization's verified domains get in (admit below).
            "verified_email": True,
        },
    )


def check_email(connection: SsoConnection, email: str) -> None:
    """Whether the provider may sign this address in: one of the organization's verified
    domains, and not someone the same organization's SCIM deprovisioned (a just-in-time
    sign-in must not undo a deactivation)."""
    if not email or not domains.is_verified_email(
        organization=connection.organization, email=email
    ):
        raise SsoRefused(
            f"{connection.organization.name}'s identity provider answered for "
            f"{email or 'nobody'}, which is not in a domain the organization verified."
        )
    if (
        ScimUser.objects.for_org(connection.organization)
        .filter(user__email__iexact=email, active=False)
        .exists()
    ):
        raise SsoRefused(f"{email} was deprovisioned from {connection.organization.name}.")


def admit(
    *, request: HttpRequest | None, connection: SsoConnection, user: User, claims: dict
) -> Membership:
    """A person signed in with the organization's identity provider: a member, with the
    role their groups give (just-in-time membership on the first sign-in)."""
    organization = connection.organization
    caller = Caller.of_system(organization, via=f"sso: {connection.issuer}"[:100])
    groups = claims.get(connection.groups_claim) or []
    mapped = {connection.group_roles.get(g) for g in groups if isinstance(g, str)}
    role = next((r for r in ROLE_RANK if r in mapped), connection.default_role)
    membership = organizations.provision_member(
        caller=caller, user=user, role=role, request=request
    )
    trail.record(
        action="sso.signed_in",
        organization=organization,
        caller=caller,
        request=request,
        target_type="user",
        target_id=user.email,
        metadata={"role": membership.role, "groups": [g for g in groups if isinstance(g, str)]},
    )
    if request is not None and hasattr(request, "session"):
        request.session[SESSION_ORG_KEY] = organization.pk
    return membership


def record_failure(connection: SsoConnection | None, reason: str, request: Any) -> None:
    if connection is None:
        return
    trail.record(
        action="sso.sign_in_failed",
        organization=connection.organization,
        actor=trail.Actor.anonymous(),
        request=request,
        target_type="sso",
        target_id=connection.issuer[:255],
        outcome="failure",
        metadata={"reason": reason[:500]},
    )


def password_refused_by(user: User) -> Organization | None:
    """The organization whose "require SSO" forbids this person a password sign-in (none
    for owners: their break-glass path)."""
    host = user.email.rsplit("@", 1)[-1].lower()
    requiring = SsoConnection.objects.filter(
        enabled=True,
        require_sso=True,
        organization__verifieddomain__domain=host,
        organization__verifieddomain__verified_at__isnull=False,
    ).values("organization")
    membership = (
        Membership.objects.filter(user=user, organization__in=requiring)
        .exclude(role=Role.OWNER)
        .select_related("organization")
        .first()
    )
    return membership.organization if membership is not None else None
