"""The vault's primitives: AES-256-GCM, key ids in every ciphertext, associated data,
key-ring parsing with clear errors that never echo plaintext or key material."""

from __future__ import annotations

import base64

import pytest

from connections import vault
from connections.vault import Keyring, VaultConfigError, VaultDecryptError

KEY_A = base64.b64encode(b"A" * 32).decode()
KEY_B = base64.b64encode(b"B" * 32).decode()
AAD = "connections.connectedaccount:42:token_set_sealed"
SECRET = "refresh-token-do-not-leak-9f3a"


def ring(value: str) -> Keyring:
    return Keyring.parse(value)


def test_round_trip_with_a_fresh_nonce_and_the_key_id():
    keyring = ring(f"a:{KEY_A}")
    first = vault.seal(SECRET, aad=AAD, keyring=keyring)
    second = vault.seal(SECRET, aad=AAD, keyring=keyring)
    assert first != second  # random nonce
    assert first.startswith("v1.a.") and SECRET not in first
    assert vault.open_sealed(first, aad=AAD, keyring=keyring) == SECRET
    assert vault.sealed_key_id(first) == "a"


@pytest.mark.parametrize(
    "other_aad",
    [
        "connections.connectedaccount:43:token_set_sealed",  # another row
        "connections.connectedaccount:42:other_field",  # another field
        "connections.connection:42:token_set_sealed",  # another model
    ],
)
def test_associated_data_binds_the_ciphertext_to_its_row_and_field(other_aad):
    keyring = ring(f"a:{KEY_A}")
    sealed = vault.seal(SECRET, aad=AAD, keyring=keyring)
    with pytest.raises(VaultDecryptError) as raised:
        vault.open_sealed(sealed, aad=other_aad, keyring=keyring)
    assert SECRET not in str(raised.value)


def test_any_tampered_byte_fails_to_open():
    keyring = ring(f"a:{KEY_A}")
    sealed = vault.seal(SECRET, aad=AAD, keyring=keyring)
    prefix, body = sealed.rsplit(".", 1)
    for position in (0, len(body) // 2, len(body) - 2):
        flipped = body[:position] + ("A" if body[position] != "A" else "B") + body[position + 1 :]
        with pytest.raises(VaultDecryptError):
            vault.open_sealed(f"{prefix}.{flipped}", aad=AAD, keyring=keyring)
    for garbage in ("", "plain text", "v2.a.abcd", "v1..abcd", "v1.a."):
        with pytest.raises(VaultDecryptError):
            vault.open_sealed(garbage, aad=AAD, keyring=keyring)


def test_the_first_key_seals_and_every_key_opens():
    old = vault.seal(SECRET, aad=AAD, keyring=ring(f"b:{KEY_B}"))
    rotated = ring(f"a:{KEY_A},b:{KEY_B}")
    assert vault.open_sealed(old, aad=AAD, keyring=rotated) == SECRET
    assert vault.needs_reseal(old, rotated)
    resealed = vault.reseal(old, aad=AAD, keyring=rotated)
    assert vault.sealed_key_id(resealed) == "a" and not vault.needs_reseal(resealed, rotated)
    assert vault.reseal(resealed, aad=AAD, keyring=rotated) == resealed  # idempotent
    assert vault.open_sealed(resealed, aad=AAD, keyring=ring(f"a:{KEY_A}")) == SECRET


def test_an_unknown_key_id_fails_clearly():
    sealed = vault.seal(SECRET, aad=AAD, keyring=ring(f"gone:{KEY_B}"))
    with pytest.raises(VaultDecryptError, match="No key 'gone'"):
        vault.open_sealed(sealed, aad=AAD, keyring=ring(f"a:{KEY_A}"))


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "empty"),
        ("no-colon", "not 'kid:base64key'"),
        (f"bad kid!:{KEY_A}", "not 'kid:base64key'"),
        (f"a:{KEY_A},a:{KEY_B}", "twice"),
        ("a:not*base64", "not valid base64"),
        ("a:" + base64.b64encode(b"short").decode(), "AES-256 needs 32"),
    ],
)
def test_bad_key_rings_are_refused_without_echoing_keys(value, message):
    with pytest.raises(VaultConfigError) as raised:
        ring(value)
    assert message in str(raised.value)
    assert KEY_A not in str(raised.value) and KEY_B not in str(raised.value)


def test_generated_entries_parse():
    entry = vault.generate_keyring_entry("fresh")
    keyring = ring(entry)
    assert keyring.active_kid == "fresh"
    assert (
        vault.open_sealed(vault.seal("x", aad=AAD, keyring=keyring), aad=AAD, keyring=keyring)
        == "x"
    )


def test_the_settings_key_ring_follows_vault_keys(settings):
    settings.VAULT_KEYS = f"s1:{KEY_A}"
    sealed = vault.seal(SECRET, aad=AAD)
    assert vault.sealed_key_id(sealed) == "s1"
    settings.VAULT_KEYS = f"s2:{KEY_B},s1:{KEY_A}"
    assert vault.open_sealed(sealed, aad=AAD) == SECRET
    assert vault.sealed_key_id(vault.seal(SECRET, aad=AAD)) == "s2"
