"""Google Workspace: every Gmail, Calendar and Drive tool; each user reads only their own
mailbox, calendar and the files shared with them; with granular consent the user may
grant only some scopes, and only the tools they allow are offered."""

from __future__ import annotations

import pytest

from connections.errors import ToolNotFound, ToolRateLimited
from connections.providers.google import DRIVE_READ, GMAIL_READ
from tests.fixtures import signed_in


def seed(google) -> None:
    google.add_message("u-1", sender="ceo@acme.test", subject="Q3 numbers", body="Revenue up 12%")
    google.add_message("u-2", sender="hr@acme.test", subject="Your salary", body="Private")
    google.add_event("u-1", "Standup", "2026-11-26T09:00:00Z", "2026-11-26T09:15:00Z")
    google.add_file("Roadmap", owner="u-1", shared_with=["u-2"], content="Q1: ship it")
    google.add_file("Bob notes", owner="u-2", content="secret")


@pytest.fixture
def world(provider_world):
    return provider_world("google", prepare=seed)


def test_gmail_search_get_draft_send_as_the_user(world):
    found = world.run(world.alice, "gmail_search_messages", query="numbers")
    assert [m["subject"] for m in found["messages"]] == ["Q3 numbers"]
    message = world.run(world.alice, "gmail_get_message", id=found["messages"][0]["id"])
    assert message["body"] == "Revenue up 12%" and message["from"] == "ceo@acme.test"
    draft = world.run(
        world.alice, "gmail_create_draft", to=["ceo@acme.test"], subject="Re: Q3", body="Great"
    )
    assert draft["draft_id"] and world.emulator.drafts["u-1"][0]["subject"] == "Re: Q3"
    sent = world.run(
        world.alice, "gmail_send_message", to=["team@acme.test"], subject="Hi", body="Hello"
    )
    assert sent["id"] and world.emulator.sent["u-1"][0]["to"] == "team@acme.test"


def test_another_users_mailbox_is_not_reachable(world):
    bobs = world.emulator.mailboxes["u-2"][0]["id"]
    with pytest.raises(ToolNotFound):
        world.run(world.alice, "gmail_get_message", id=bobs)
    assert world.run(world.alice, "gmail_search_messages", query="salary")["messages"] == []


def test_calendar_list_and_create(world):
    events = world.run(world.alice, "gcal_list_events", time_min="2026-11-25T00:00:00Z")
    assert [e["title"] for e in events["events"]] == ["Standup"]
    created = world.run(
        world.alice,
        "gcal_create_event",
        title="Launch review",
        start="2026-11-27T14:00:00+01:00",
        end="2026-11-27T15:00:00+01:00",
        attendees=["bob@acme.test"],
    )
    assert created["attendees"] == ["bob@acme.test"] and created["organizer"] == "alice@acme.test"
    assert world.run(world.bob, "gcal_list_events")["events"] == []


def test_drive_search_and_read_shared_files_only(world):
    assert {f["name"] for f in world.run(world.bob, "gdrive_search_files")["files"]} == {
        "Roadmap",
        "Bob notes",
    }
    found = world.run(world.alice, "gdrive_search_files", name="road")["files"]
    assert [f["name"] for f in found] == ["Roadmap"]
    assert world.run(world.alice, "gdrive_get_file", id=found[0]["id"])["content"] == "Q1: ship it"
    bobs = next(f for f in world.emulator.files.values() if f["name"] == "Bob notes")
    with pytest.raises(ToolNotFound):
        world.run(world.alice, "gdrive_get_file", id=bobs["id"])


def test_googles_403_rate_limit_is_a_429(world):
    world.emulator.rate_limit_next()
    with pytest.raises(ToolRateLimited) as raised:
        world.run(world.alice, "gmail_search_messages")
    assert raised.value.retry_after == 5


def test_tools_follow_the_scopes_granted_and_ask_for_the_missing_ones(provider_world):
    world = provider_world("google", connect=False, prepare=seed)
    world.emulator.grant_only(["openid", "email", GMAIL_READ])
    world.connect(world.alice, "u-1")
    names = world.names(world.alice)
    assert {"gmail_search_messages", "gmail_get_message"} <= names
    assert not names & {"gmail_send_message", "gdrive_search_files", "gcal_create_event"}

    from connections import tools
    from connections.errors import ToolForbidden
    from tests.callers import as_identifier

    with pytest.raises(ToolForbidden) as raised:
        tools.execute_tool(
            caller=as_identifier(world.org, world.alice.user.identifier),
            tool_name="gdrive_search_files",
            params={},
        )
    error = raised.value
    assert error.code == "insufficient_scope" and error.details["missing_scopes"] == [DRIVE_READ]
    link = error.details["authorization_link"]

    # Re-authorizing through that link (granting everything this time) adds the tool.
    world.emulator.grant_only(None)
    client = signed_in(world.alice)
    start = client.get(link.removeprefix("http://testserver"))
    assert DRIVE_READ.replace("/", "%2F").replace(":", "%3A") in start["Location"]
    client.get(world.authorized(start["Location"], "u-1"))
    assert "gdrive_search_files" in world.names(world.alice)
