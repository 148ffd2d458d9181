"""SCIM tokens: the bearer credential an organization gives its identity provider for
/scim/v2/. Minted once (the plaintext is shown once), stored as a hash, looked up by
its public prefix, revocable; they open /scim/v2/ only (never the REST API)."""

from __future__ import annotations

import hmac
import re
import secrets
from datetime import timedelta

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from audit import trail
from core.errors import Invalid, NotFound
from identity.models import ScimToken
from portal.apikeys import hash_secret, unused_prefix
from portal.callers import Caller

TOKEN_PATTERN = re.compile(r"^scim_([a-z0-9]{8})_([A-Za-z0-9_-]{20,128})$")
LAST_USED_RESOLUTION = timedelta(seconds=60)


def mint(*, caller: Caller, name: str, request: HttpRequest | None = None) -> tuple[ScimToken, str]:
    caller.require_manager()
    name = (name or "").strip()
    if not name:
        raise Invalid(
            "Give the token a name, e.g. the identity provider that will use it.",
            code="name_required",
        )
    with transaction.atomic():
        prefix = unused_prefix(ScimToken)
        secret = secrets.token_urlsafe(32)
        token = ScimToken.objects.create(
            organization=caller.organization,
            name=name[:100],
            prefix=prefix,
            secret_hash=hash_secret(secret),
            created_by=caller.user,
        )
        trail.record(
            action="scim_token.created",
            organization=caller.organization,
            caller=caller,
            request=request,
            target_type="scim_token",
            target_id=prefix,
            metadata={"name": token.name},
        )
    return token, f"scim_{prefix}_{secret}"


def revoke(*, caller: Caller, token_id: int, request: HttpRequest | None = None) -> ScimToken:
    caller.require_manager()
    with transaction.atomic():
        token = (
            ScimToken.objects.for_org(caller.organization)
            .select_for_update()
            .filter(pk=token_id)
            .first()
        )
        if token is None:
            raise NotFound("No such SCIM token.")
        if token.revoked_at is None:
            token.revoked_at = timezone.now()
            token.save(update_fields=["revoked_at"])
            trail.record(
                action="scim_token.revoked",
                organization=caller.organization,
                caller=caller,
                request=request,
                target_type="scim_token",
                target_id=token.prefix,
                metadata={"name": token.name},
            )
    return token


def tokens_of(*, caller: Caller):
    return ScimToken.objects.for_org(caller.organization).filter(revoked_at__isnull=True)


def authenticate(raw: str) -> Caller | None:
    """The caller a presented token stands for (the organization's identity provider),
    or None for a malformed, unknown or revoked one."""
    match = TOKEN_PATTERN.match(raw or "")
    if not match:
        return None
    prefix, secret = match.groups()
    token = ScimToken.objects.select_related("organization").filter(prefix=prefix).first()
    if (
        token is None
        or token.revoked_at is not None
        or not hmac.compare_digest(token.secret_hash, hash_secret(secret))
    ):
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
        ScimToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return Caller.of_system(token.organization, via=f"scim: {token.name}")
