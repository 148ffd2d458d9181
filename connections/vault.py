"""The token vault: AES-256-GCM with a key ring, ciphertext bound to its row and field.

* Key ring from VAULT_KEYS = "kid1:base64key,kid2:base64key": the first key
  seals, every key opens, so keys rotate without downtime.
* Each ciphertext names its key id: "v1.<kid>.<base64url(nonce || ciphertext)>".
* Associated data "<app.model>:<pk>:<field>" binds a ciphertext to its row and
  field: copied onto another row (or field) it fails to open (DESIGN §7 rule 5).
* `reseal_all()` moves every secret to the active key with compare-and-swap
  updates, so it is idempotent, resumable and safe beside concurrent writers.

Run `python -m connections.vault` to print a new key-ring entry.
"""

from __future__ import annotations

import base64
import binascii
import functools
import os
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

FORMAT_VERSION = "v1"
KID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
NONCE_BYTES = 12


class VaultError(Exception):
    """Base class. Messages never contain plaintext or key material."""


class VaultConfigError(VaultError):
    pass


class VaultDecryptError(VaultError):
    pass


@dataclass(frozen=True)
class Keyring:
    active_kid: str
    ciphers: dict[str, AESGCM]

    @classmethod
    def parse(cls, value: str) -> Keyring:
        entries = [entry.strip() for entry in (value or "").split(",") if entry.strip()]
        if not entries:
            raise VaultConfigError(
                "VAULT_KEYS is empty: set it to 'kid:base64key[,kid:base64key]'."
            )
        ciphers: dict[str, AESGCM] = {}
        for position, entry in enumerate(entries, start=1):
            kid, sep, encoded = entry.partition(":")
            if not sep or not KID_PATTERN.match(kid):
                raise VaultConfigError(
                    f"VAULT_KEYS entry {position} is not 'kid:base64key' "
                    "(kid: 1-32 letters, digits, '-' or '_')."
                )
            if kid in ciphers:
                raise VaultConfigError(f"VAULT_KEYS names key id {kid!r} twice.")
            try:
                key = base64.b64decode(encoded, validate=True)
            except (binascii.Error, ValueError):
                raise VaultConfigError(f"VAULT_KEYS key {kid!r} is not valid base64.") from None
            if len(key) != 32:
                raise VaultConfigError(
                    f"VAULT_KEYS key {kid!r} is {len(key)} bytes; AES-256 needs 32."
                )
            ciphers[kid] = AESGCM(key)
        return cls(active_kid=next(iter(ciphers)), ciphers=ciphers)


@functools.lru_cache(maxsize=8)
def _parse_keyring(value: str) -> Keyring:
    return Keyring.parse(value)


def get_keyring() -> Keyring:
    """The key ring of the current settings (cached per VAULT_KEYS value)."""
    from django.conf import settings

    return _parse_keyring(settings.VAULT_KEYS)


def generate_key() -> str:
    return base64.b64encode(os.urandom(32)).decode()


def generate_keyring_entry(kid: str | None = None) -> str:
    return f"{kid or 'k' + secrets.token_hex(4)}:{generate_key()}"


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def seal(plaintext: str, *, aad: str, keyring: Keyring | None = None) -> str:
    ring = keyring or get_keyring()
    nonce = os.urandom(NONCE_BYTES)
    ciphertext = ring.ciphers[ring.active_kid].encrypt(nonce, plaintext.encode(), aad.encode())
    return f"{FORMAT_VERSION}.{ring.active_kid}.{_b64encode(nonce + ciphertext)}"


def _split(sealed: str) -> tuple[str, str]:
    version, _, rest = (sealed or "").partition(".")
    kid, _, body = rest.partition(".")
    if version != FORMAT_VERSION or not kid or not body:
        raise VaultDecryptError("Not a vault ciphertext (expected 'v1.<kid>.<data>').")
    return kid, body


def _field_of(aad: str) -> str:
    return aad.rsplit(":", 1)[-1]


def open_sealed(sealed: str, *, aad: str, keyring: Keyring | None = None) -> str:
    ring = keyring or get_keyring()
    kid, body = _split(sealed)
    cipher = ring.ciphers.get(kid)
    if cipher is None:
        raise VaultDecryptError(f"No key {kid!r} in VAULT_KEYS to open field {_field_of(aad)!r}.")
    try:
        raw = _b64decode(body)
        return cipher.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], aad.encode()).decode()
    except (InvalidTag, ValueError, binascii.Error):
        raise VaultDecryptError(
            f"Field {_field_of(aad)!r} does not open with key {kid!r}: "
            "tampered, or moved from another row or field."
        ) from None


def sealed_key_id(sealed: str) -> str:
    return _split(sealed)[0]


def needs_reseal(sealed: str, keyring: Keyring | None = None) -> bool:
    ring = keyring or get_keyring()
    return sealed_key_id(sealed) != ring.active_kid


def reseal(sealed: str, *, aad: str, keyring: Keyring | None = None) -> str:
    ring = keyring or get_keyring()
    if not needs_reseal(sealed, ring):
        return sealed
    return seal(open_sealed(sealed, aad=aad, keyring=ring), aad=aad, keyring=ring)


def aad_for(instance: Any, field_name: str) -> str:
    if instance.pk is None:
        raise ValueError("Sealed models need their primary key before sealing (use UUID keys).")
    return f"{instance._meta.label_lower}:{instance.pk}:{field_name}"


class SealedFieldsMixin:
    """For models with TextFields that hold vault ciphertext ("" means no secret)."""

    sealed_fields: tuple[str, ...] = ()

    def _check_sealed(self, field_name: str) -> None:
        if field_name not in self.sealed_fields:
            raise ValueError(f"{field_name!r} is not a sealed field of {type(self).__name__}.")

    def set_secret(self, field_name: str, plaintext: str | None) -> None:
        self._check_sealed(field_name)
        value = seal(plaintext, aad=aad_for(self, field_name)) if plaintext else ""
        setattr(self, field_name, value)

    def get_secret(self, field_name: str) -> str | None:
        self._check_sealed(field_name)
        sealed = getattr(self, field_name)
        return open_sealed(sealed, aad=aad_for(self, field_name)) if sealed else None

    def has_secret(self, field_name: str) -> bool:
        self._check_sealed(field_name)
        return bool(getattr(self, field_name))


def iter_sealed_models() -> Iterator[Any]:
    from django.apps import apps

    for model in apps.get_models():
        if issubclass(model, SealedFieldsMixin) and model.sealed_fields:
            yield model


def reseal_all(*, batch_size: int = 500) -> dict[str, dict[str, int]]:
    """Re-seal every secret with the active key; returns counts per model."""
    from django.db import transaction

    ring = get_keyring()
    report: dict[str, dict[str, int]] = {}
    for model in iter_sealed_models():
        counts = {"rows": 0, "resealed": 0, "already_current": 0}
        last_pk = None
        while True:
            rows = model.objects.order_by("pk")
            if last_pk is not None:
                rows = rows.filter(pk__gt=last_pk)
            batch = list(rows.only("pk", *model.sealed_fields)[:batch_size])
            if not batch:
                break
            with transaction.atomic():
                for row in batch:
                    counts["rows"] += 1
                    for field in model.sealed_fields:
                        outcome = _reseal_field(model, row, field, ring)
                        if outcome:
                            counts[outcome] += 1
            last_pk = batch[-1].pk
        report[model._meta.label_lower] = counts
    return report


def _reseal_field(model: Any, row: Any, field: str, ring: Keyring) -> str | None:
    """Compare-and-swap one field; a concurrent writer's newer value is never overwritten."""
    for _ in range(2):
        current = getattr(row, field)
        if not current:
            return None
        if not needs_reseal(current, ring):
            return "already_current"
        fresh = reseal(current, aad=aad_for(row, field), keyring=ring)
        if model.objects.filter(pk=row.pk, **{field: current}).update(**{field: fresh}):
            return "resealed"
        row.refresh_from_db(fields=[field])  # someone wrote meanwhile: look again once
    return None


if __name__ == "__main__":
    print(generate_keyring_entry())
