"""Microsoft 365: every Outlook and Teams tool against the Graph emulator; the tenant
goes into the OAuth URLs; a chat the user is not in is a 404."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from connections.errors import ToolInvalid, ToolNotFound
from connections.models import ConnectedAccount


def seed(microsoft) -> None:
    microsoft.add_message(
        "u-1", sender="ana@contoso.test", subject="Contract", preview="Signed copy attached"
    )
    microsoft.add_message(
        "u-1", sender="news@contoso.test", subject="Newsletter", preview="Weekly", read=True
    )
    microsoft.add_event("u-1", "1:1 with Ana", "2026-11-26T10:00:00", "2026-11-26T10:30:00")
    microsoft.add_chat("Launch", ["u-1", "u-2"])
    microsoft.add_chat("Board", ["u-2"])


@pytest.fixture
def world(provider_world):
    return provider_world("microsoft", prepare=seed, tenant="contoso.onmicrosoft.com")


def test_the_tenant_is_in_the_authorization_url(world, member_client):
    start = member_client.post("/connected-accounts/microsoft/connect/")
    assert urlsplit(start["Location"]).path.endswith(
        "/contoso.onmicrosoft.com/oauth2/v2.0/authorize"
    )
    account = ConnectedAccount.objects.get(identifier=world.alice.user.identifier)
    assert account.provider_account_label == "alice@acme.test"


def test_outlook_mail(world):
    unread = world.run(world.alice, "outlook_list_messages", unread_only=True)["messages"]
    assert [m["subject"] for m in unread] == ["Contract"]
    found = world.run(world.alice, "outlook_list_messages", search="signed")["messages"]
    assert found[0]["from"] == "ana@contoso.test"
    sent = world.run(
        world.alice, "outlook_send_mail", to=["ana@contoso.test"], subject="Re", body="Thanks"
    )
    assert (
        sent["sent"]
        and world.emulator.sent["u-1"][0]["toRecipients"][0]["emailAddress"]["address"]
        == "ana@contoso.test"
    )
    assert world.run(world.bob, "outlook_list_messages")["messages"] == []


def test_outlook_calendar(world):
    events = world.run(
        world.alice, "outlook_list_events", start="2026-11-26T00:00:00", end="2026-11-27T00:00:00"
    )
    assert [e["title"] for e in events["events"]] == ["1:1 with Ana"]
    created = world.run(
        world.alice,
        "outlook_create_event",
        title="Review",
        start="2026-11-27T14:00:00",
        end="2026-11-27T15:00:00",
        time_zone="Europe/Paris",
        attendees=["bob@acme.test"],
        online_meeting=True,
    )
    assert created["online_meeting"].startswith("https://teams") and created["attendees"] == [
        "bob@acme.test"
    ]


def test_teams_chats_follow_membership(world):
    chats = world.run(world.alice, "teams_list_chats")["chats"]
    assert [c["topic"] for c in chats] == ["Launch"]
    sent = world.run(world.alice, "teams_send_chat_message", chat_id=chats[0]["id"], text="Ship it")
    assert sent["id"]
    board = next(c for c in world.emulator.chats.values() if c["topic"] == "Board")
    with pytest.raises(ToolNotFound):
        world.run(world.alice, "teams_send_chat_message", chat_id=board["id"], text="hi")


def test_graph_validation_errors_are_422(world):
    with pytest.raises(ToolInvalid):
        world.run(world.alice, "outlook_send_mail", to=[], subject="x", body="y")
