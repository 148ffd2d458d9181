"""Enterprise identity (issue 27): the organization's verified email domains, its SCIM
tokens, and the people and groups its identity provider provisions over SCIM."""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models.functions import Lower

from connections.vault import SealedFieldsMixin
from core.tenancy import OrgOwned


class VerifiedDomain(OrgOwned):
    """An email domain the organization proved it controls (a DNS TXT record, or an
    admin's word where DOMAIN_ADMIN_CONFIRM allows it: development). A domain is
    verified by at most one organization."""

    class Method(models.TextChoices):
        DNS = "dns", "DNS TXT record"
        ADMIN = "admin", "Confirmed by an admin (development)"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    domain = models.CharField(max_length=253)
    # The value of the TXT record that proves it: agent-portal-verification=<challenge>.
    challenge = models.CharField(max_length=64)
    verified_at = models.DateTimeField(null=True, blank=True)
    method = models.CharField(max_length=5, choices=Method.choices, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["domain"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "domain"], name="domain_once_per_org"),
            models.UniqueConstraint(
                fields=["domain"],
                condition=models.Q(verified_at__isnull=False),
                name="domain_verified_by_one_org",
            ),
        ]

    def __str__(self) -> str:
        return self.domain


class ScimToken(OrgOwned):
    """The bearer credential of the organization's identity provider on /scim/v2/.
    Only a hash of the secret is kept (as for API keys)."""

    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=8, unique=True)
    secret_hash = models.CharField(max_length=64)
    created_by = models.ForeignKey(
        "portal.User", null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} (scim_{self.prefix}_…)"


class ScimUser(OrgOwned):
    """A person the identity provider provisioned into the organization: the SCIM
    resource, linked to the portal user whose membership it drives. Inactive: the
    membership is gone (deprovisioned) and the resource stays for the provider."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        "portal.User", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    user_name = models.CharField(max_length=255)
    external_id = models.CharField(max_length=255, blank=True)
    display_name = models.CharField(max_length=255, blank=True)
    # The address the portal account has (the primary email, else userName).
    email = models.EmailField(blank=True)
    active = models.BooleanField(default=True)
    # The attributes as the provider last wrote them (never a password), served back.
    resource = models.JSONField(default=dict)
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "user"], name="scim_user_once"),
            models.UniqueConstraint(
                "organization", Lower("user_name"), name="scim_user_name_unique"
            ),
        ]
        indexes = [models.Index(fields=["organization", "external_id"], name="scim_user_ext")]

    def __str__(self) -> str:
        return self.user_name


class ScimGroup(OrgOwned):
    """A group of the identity provider. Where an owner maps it to a role, its members
    get that role (the highest of their groups'; never owner: owners are made here)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    display_name = models.CharField(max_length=255)
    external_id = models.CharField(max_length=255, blank=True)
    role = models.CharField(max_length=10, blank=True)
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["display_name"]
        constraints = [
            models.UniqueConstraint(
                "organization", Lower("display_name"), name="scim_group_name_unique"
            )
        ]

    def __str__(self) -> str:
        return self.display_name


class ScimGroupMember(OrgOwned):
    group = models.ForeignKey(ScimGroup, on_delete=models.CASCADE, related_name="memberships")
    member = models.ForeignKey(ScimUser, on_delete=models.CASCADE, related_name="memberships")
    display = models.CharField(max_length=255, blank=True)  # as the provider named it

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "group", "member"], name="scim_group_member_once"
            )
        ]


class TrustedIssuer(OrgOwned):
    """An identity provider whose Identity Assertion JWT Authorization Grants (ID-JAG)
    this organization accepts: its people's agents get MCP access tokens without a
    consent screen, as the provider decides (identity/id_jag.py). One organization per
    issuer, so an assertion names its organization by its issuer alone."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    issuer = models.URLField(max_length=500, unique=True)
    jwks_uri = models.URLField(max_length=500)
    # The provider's public keys as last fetched (refetched when a key id is unknown).
    jwks = models.JSONField(default=dict)
    jwks_fetched_at = models.DateTimeField(null=True, blank=True)
    enabled = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        "portal.User", null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["issuer"]

    def __str__(self) -> str:
        return self.issuer


class AssertionUse(OrgOwned):
    """An ID-JAG already exchanged (its `jti`): the same assertion twice is a replay.
    Kept until the assertion would have expired anyway."""

    issuer = models.ForeignKey(TrustedIssuer, on_delete=models.CASCADE, related_name="+")
    jti = models.CharField(max_length=255)
    expires_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "issuer", "jti"], name="assertion_once")
        ]


class SsoConnection(SealedFieldsMixin, OrgOwned):
    """The organization's single sign-on (OpenID Connect or SAML 2.0): people whose email is in one of
    its verified domains sign in at its identity provider; the first sign-in makes them a
    member (just in time) with the role their groups map to. With `require_sso`, those
    people cannot sign in with a password (owners keep theirs: the break-glass path)."""

    sealed_fields = ("client_secret_sealed",)

    class Protocol(models.TextChoices):
        OIDC = "oidc", "OpenID Connect"
        SAML = "saml", "SAML 2.0"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    protocol = models.CharField(max_length=4, choices=Protocol.choices, default=Protocol.OIDC)
    # OpenID Connect: the issuer. SAML: the identity provider's entity id.
    issuer = models.URLField(max_length=500)
    # SAML only: where people sign in (HTTP-Redirect binding) and the certificate that
    # signs its assertions (public; signed assertions are required).
    sso_url = models.URLField(max_length=500, blank=True)
    x509cert = models.TextField(blank=True)
    client_id = models.CharField(max_length=255, blank=True)
    client_secret_sealed = models.TextField(blank=True, default="")
    default_role = models.CharField(max_length=10, default="member")
    # The ID token / userinfo claim with the person's groups, and the roles groups give.
    groups_claim = models.CharField(max_length=100, default="groups")
    group_roles = models.JSONField(default=dict, blank=True)
    require_sso = models.BooleanField(default=False)
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization"], name="sso_one_per_org")]

    def __str__(self) -> str:
        return self.issuer

    @property
    def provider_id(self) -> str:
        """The id django-allauth's OpenID Connect provider knows this connection by."""
        return f"sso-{self.pk.hex}"
