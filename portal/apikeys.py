"""API keys: minted once, stored as a hash, looked up by their public prefix."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import datetime, timedelta

from django.db import models, transaction
from django.http import HttpRequest
from django.utils import timezone

from audit import trail
from core.errors import Invalid, NotFound
from core.prepared import PreparedQuery
from portal.callers import Caller
from portal.models import ApiKey

KEY_PATTERN = re.compile(r"^ap_(test_)?([A-Za-z0-9]{8})_([A-Za-z0-9_-]{20,128})$")
PREFIX_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"
# last_used_at is informative; writing it on every request would cost a write per call.
LAST_USED_RESOLUTION = timedelta(seconds=60)


class InvalidApiKey(Exception):
    """The presented key is malformed, unknown, revoked or expired (message says which)."""


def hash_secret(secret: str) -> str:
    """The stored form of a minted secret (API keys, SCIM tokens). The secret has 256
    bits of entropy: a fast hash is enough, no stretching needed."""
    return hashlib.sha256(secret.encode()).hexdigest()


def unused_prefix(model: type[models.Model]) -> str:
    """A random public prefix no row of `model` has yet."""
    prefix = "".join(secrets.choice(PREFIX_ALPHABET) for _ in range(8))
    while model.objects.filter(prefix=prefix).exists():  # type: ignore[attr-defined]
        prefix = "".join(secrets.choice(PREFIX_ALPHABET) for _ in range(8))
    return prefix


def mint_api_key(
    *,
    caller: Caller,
    name: str,
    expires_at: datetime | None = None,
    test_mode: bool = False,
    request: HttpRequest | None = None,
) -> tuple[ApiKey, str]:
    """Create a key; the returned plaintext is shown once and never stored."""
    caller.require_manager()
    org, created_by = caller.organization, caller.user
    name = (name or "").strip()
    if not name:
        raise Invalid(
            "Give the key a name, e.g. the backend that will use it.", code="name_required"
        )
    if expires_at is not None and expires_at <= timezone.now():
        raise Invalid("The expiry must be in the future.", code="invalid_expiry")
    with transaction.atomic():
        prefix = unused_prefix(ApiKey)
        secret = secrets.token_urlsafe(32)
        key = ApiKey.objects.create(
            organization=org,
            name=name[:100],
            prefix=prefix,
            secret_hash=hash_secret(secret),
            created_by=created_by,
            expires_at=expires_at,
            test_mode=bool(test_mode),
        )
        trail.record(
            action="api_key.created",
            organization=org,
            caller=caller,
            request=request,
            target_type="api_key",
            target_id=prefix,
            metadata={"name": key.name, "expires_at": expires_at, "test_mode": key.test_mode},
        )
    return key, key.key_start + secret


# Every API request authenticates here; compiled once (core/prepared.py says why).
_KEY_BY_PREFIX = PreparedQuery(
    lambda prefix: ApiKey.objects.select_related("organization").filter(prefix=prefix)[:1],
    prefix=str,
)


def authenticate_api_key(raw: str) -> ApiKey:
    match = KEY_PATTERN.match(raw or "")
    if not match:
        raise InvalidApiKey("The API key is malformed; expected ap_<prefix>_<secret>.")
    test, prefix, secret = match.groups()
    key = next(iter(_KEY_BY_PREFIX.run(prefix=prefix)), None)
    if (
        key is None
        or not hmac.compare_digest(key.secret_hash, hash_secret(secret))
        or key.test_mode != bool(test)
    ):
        raise InvalidApiKey("The API key is not valid.")
    if key.revoked_at is not None:
        raise InvalidApiKey("The API key has been revoked.")
    now = timezone.now()
    if key.expires_at is not None and key.expires_at <= now:
        raise InvalidApiKey("The API key has expired.")
    if key.last_used_at is None or now - key.last_used_at > LAST_USED_RESOLUTION:
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now
    return key


def revoke_api_key(*, caller: Caller, key_id: int, request: HttpRequest | None = None) -> ApiKey:
    caller.require_manager()
    org = caller.organization
    with transaction.atomic():
        key = ApiKey.objects.for_org(org).select_for_update().filter(pk=key_id).first()
        if key is None:
            raise NotFound("No such API key.")
        if key.revoked_at is None:
            key.revoked_at = timezone.now()
            key.save(update_fields=["revoked_at"])
            trail.record(
                action="api_key.revoked",
                organization=org,
                caller=caller,
                request=request,
                target_type="api_key",
                target_id=key.prefix,
                metadata={"name": key.name},
            )
    return key
