"""HubSpot: the date-based OAuth endpoints, `hub_id` kept, the user found from the token's
metadata; every CRM tool against the emulator."""

from __future__ import annotations

import pytest

from connections.errors import ToolConflict, ToolNotFound
from connections.models import ConnectedAccount


@pytest.fixture
def world(provider_world):
    def seed(hubspot):
        hubspot.ana = hubspot.add_contact(
            email="ana@contoso.test", firstname="Ana", lastname="Lopez", company="Contoso"
        )

    return provider_world("hubspot", prepare=seed)


def test_identity_and_hub_come_from_the_token(world):
    account = ConnectedAccount.objects.get(identifier=world.alice.user.identifier)
    assert (
        account.provider_account_id == "u-1" and account.provider_account_label == "alice@acme.test"
    )
    assert account.provider_data["hub_id"] == "4242"


def test_search_get_create_update_and_note(world):
    emulator = world.emulator
    found = world.run(world.alice, "hubspot_search_contacts", query="contoso")["contacts"]
    assert [c["email"] for c in found] == ["ana@contoso.test"]
    by_email = world.run(world.alice, "hubspot_get_contact", contact="ana@contoso.test")
    assert by_email["id"] == emulator.ana["id"]
    created = world.run(
        world.alice,
        "hubspot_create_contact",
        email="li@fabrikam.test",
        firstname="Li",
        properties={"city": "Lyon"},
    )
    assert (
        created["firstname"] == "Li"
        and emulator.contacts[created["id"]]["properties"]["city"] == "Lyon"
    )
    updated = world.run(
        world.alice, "hubspot_update_contact", contact_id=created["id"], lifecyclestage="customer"
    )
    assert updated["lifecyclestage"] == "customer"
    note = world.run(
        world.alice, "hubspot_create_note", contact_id=created["id"], body="Met at the fair"
    )
    assert note["id"] and emulator.notes[0]["properties"]["hs_note_body"] == "Met at the fair"


def test_duplicates_and_unknown_contacts_map_to_409_and_404(world):
    with pytest.raises(ToolConflict):
        world.run(world.alice, "hubspot_create_contact", email="ana@contoso.test")
    with pytest.raises(ToolNotFound):
        world.run(world.alice, "hubspot_get_contact", contact="999999")
