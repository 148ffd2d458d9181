"""The vault on real rows: ciphertext is bound to its row and field; rotation re-seals all."""

import base64
import os
import threading

import pytest
from django.core.management import call_command
from django.db import connections

from connections import vault
from connections.configuration import create_connection
from connections.models import Connection


def new_key(kid: str) -> str:
    return f"{kid}:{base64.b64encode(os.urandom(32)).decode()}"


@pytest.fixture
def two_connections(org):
    first = create_connection(
        org=org, name="one", provider="monday", client_id="a", client_secret="secret-one"
    )
    second = create_connection(
        org=org, name="two", provider="monday", client_id="b", client_secret="secret-two"
    )
    return first, second


def test_secrets_are_ciphertext_in_the_database(two_connections):
    raw = Connection.objects.values_list("client_secret_sealed", flat=True)
    assert all(value.startswith("v1.") for value in raw)
    assert not any("secret-one" in value or "secret-two" in value for value in raw)


def test_a_ciphertext_copied_onto_another_row_fails_to_open(two_connections):
    first, second = two_connections
    Connection.objects.filter(pk=second.pk).update(client_secret_sealed=first.client_secret_sealed)
    second.refresh_from_db()
    with pytest.raises(vault.VaultDecryptError):
        second.get_secret("client_secret_sealed")


def test_rotation_reseals_everything_and_old_values_still_open(two_connections, settings):
    old_ring = settings.VAULT_KEYS
    settings.VAULT_KEYS = f"{new_key('k2')},{old_ring}"

    call_command("rotate_vault_key")

    for connection in Connection.objects.all():
        assert vault.sealed_key_id(connection.client_secret_sealed) == "k2"
    assert {c.get_secret("client_secret_sealed") for c in Connection.objects.all()} == {
        "secret-one",
        "secret-two",
    }


def test_rotation_is_idempotent(two_connections, settings):
    settings.VAULT_KEYS = f"{new_key('k2')},{settings.VAULT_KEYS}"
    call_command("rotate_vault_key")
    sealed = list(Connection.objects.values_list("client_secret_sealed", flat=True))
    call_command("rotate_vault_key")
    assert list(Connection.objects.values_list("client_secret_sealed", flat=True)) == sealed


@pytest.mark.django_db(transaction=True)
def test_reads_continue_while_keys_rotate(org, settings):
    for n in range(30):
        create_connection(
            org=org, name=f"c{n}", provider="monday", client_id="x", client_secret=f"s{n}"
        )
    settings.VAULT_KEYS = f"{new_key('k2')},{settings.VAULT_KEYS}"
    failures, done = [], threading.Event()

    def reader():
        try:
            while not done.is_set():
                for connection in Connection.objects.all():
                    if connection.get_secret("client_secret_sealed") != f"s{connection.name[1:]}":
                        failures.append(connection.name)
        except Exception as exc:  # asserted below
            failures.append(repr(exc))
        finally:
            connections.close_all()

    thread = threading.Thread(target=reader)
    thread.start()
    call_command("rotate_vault_key")
    done.set()
    thread.join(timeout=30)
    assert failures == []
    assert {vault.sealed_key_id(c.client_secret_sealed) for c in Connection.objects.all()} == {"k2"}
