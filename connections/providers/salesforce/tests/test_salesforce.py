"""Salesforce: no expires_in (a default lifetime, refresh on 401), the API on the token's
instance_url, the login host per connection; every tool; sharing rules apply."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.utils import timezone

from connections import accounts
from connections.errors import ToolInvalid, ToolNotFound
from connections.models import ConnectedAccount


@pytest.fixture
def world(provider_world):
    def seed(salesforce):
        salesforce.acme = salesforce.add_record(
            "Account", owner="u-1", Name="Acme", Industry="Energy"
        )
        salesforce.secret = salesforce.add_record(
            "Account", owner="u-2", private=True, Name="Stealth Co"
        )

    return provider_world("salesforce", prepare=seed, login_host="acme.my.salesforce.com")


def test_instance_url_and_default_lifetime(world):
    account = ConnectedAccount.objects.get(identifier=world.alice.user.identifier)
    assert account.provider_data["instance_url"] == world.emulator.origin
    lifetime = account.token_expires_at - timezone.now()
    assert timedelta(hours=1, minutes=55) < lifetime <= timedelta(hours=2)


def test_query_get_create_update(world):
    found = world.run(world.alice, "salesforce_soql_query", query="SELECT Id, Name FROM Account")
    assert [r["Name"] for r in found["records"]] == ["Acme"]
    record = world.run(
        world.alice,
        "salesforce_get_record",
        object="Account",
        id=world.emulator.acme["Id"],
        fields=["Name", "Industry"],
    )
    assert record == {"type": "Account", "Name": "Acme", "Industry": "Energy"}
    created = world.run(
        world.alice, "salesforce_create_record", object="Account", fields={"Name": "Globex"}
    )
    world.run(
        world.alice,
        "salesforce_update_record",
        object="Account",
        id=created["id"],
        fields={"Industry": "Retail"},
    )
    assert world.emulator.records[created["id"]]["fields"] == {
        "Name": "Globex",
        "Industry": "Retail",
    }
    with pytest.raises(ToolInvalid):
        world.run(
            world.alice, "salesforce_create_record", object="Account", fields={"Industry": "x"}
        )


def test_sharing_rules_hide_other_owners_private_records(world):
    with pytest.raises(ToolNotFound):
        world.run(
            world.alice, "salesforce_get_record", object="Account", id=world.emulator.secret["Id"]
        )
    names = [
        r["Name"]
        for r in world.run(world.bob, "salesforce_soql_query", query="SELECT Name FROM Account")[
            "records"
        ]
    ]
    assert sorted(names) == ["Acme", "Stealth Co"]


def test_an_expired_session_is_refreshed_on_401(world):
    account = ConnectedAccount.objects.get(identifier=world.alice.user.identifier)
    world.emulator.expire_access_token(accounts.token_set(account)["access_token"])
    assert world.run(world.alice, "salesforce_soql_query", query="SELECT Name FROM Account")[
        "records"
    ]
    assert world.emulator.refresh_count == 1


def test_the_login_host_setting_shapes_the_authorization_url(world, member_client, settings):
    start = member_client.post("/connected-accounts/salesforce/connect/")
    assert urlsplit(start["Location"]).path.endswith("/services/oauth2/authorize")
