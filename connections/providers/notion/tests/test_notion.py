"""Notion: Basic auth and a JSON token body, the person from `owner.user`, the workspace
kept; every tool against the emulator; a page not shared with the integration is a 404."""

from __future__ import annotations

import pytest

from connections.errors import ToolInvalid, ToolNotFound
from connections.models import ConnectedAccount


@pytest.fixture
def world(provider_world):
    def seed(notion):
        notion.wiki = notion.add_page("Team wiki", shared_with=["u-1"], lines=["Welcome!"])
        notion.tasks = notion.add_database(
            "Tasks",
            shared_with=["u-1"],
            properties={"Name": "title", "Status": "select", "Due": "date"},
        )
        notion.private = notion.add_page("Bob diary", shared_with=["u-2"])

    return provider_world("notion", prepare=seed)


def test_identity_and_workspace_come_from_the_token_answer(world):
    account = ConnectedAccount.objects.get(identifier=world.alice.user.identifier)
    assert (
        account.provider_account_id == "u-1" and account.provider_account_label == "alice@acme.test"
    )
    assert account.provider_data["workspace_id"] and account.provider_data["bot_id"]
    basic = world.emulator.token_requests[0]["headers"]["Authorization"]
    assert basic.startswith("Basic ")


def test_search_and_read_a_page(world):
    found = world.run(world.alice, "notion_search", query="wiki")["results"]
    assert [r["title"] for r in found] == ["Team wiki"]
    page = world.run(world.alice, "notion_get_page", page_id=found[0]["id"])
    assert page["content"] == "Welcome!"
    with pytest.raises(ToolNotFound):
        world.run(world.alice, "notion_get_page", page_id=world.emulator.private["id"])


def test_create_append_and_update_a_database_row(world):
    database = world.emulator.tasks["id"]
    row = world.run(
        world.alice,
        "notion_create_page",
        parent_database_id=database,
        title="Write the launch post",
        properties={"Status": "Todo", "Due": "2026-12-01"},
        content=[{"type": "to_do", "text": "Draft"}],
    )
    assert row["title"] == "Write the launch post" and row["properties"]["Status"] == "Todo"
    world.run(
        world.alice,
        "notion_append_blocks",
        block_id=row["id"],
        blocks=[{"type": "paragraph", "text": "More"}],
    )
    page = world.run(world.alice, "notion_get_page", page_id=row["id"])
    assert page["content"] == "[ ] Draft\nMore"
    done = world.run(
        world.alice,
        "notion_update_page_properties",
        page_id=row["id"],
        properties={"Status": "Done"},
    )
    assert done["properties"]["Status"] == "Done"
    rows = world.run(world.alice, "notion_query_database", database_id=database)["pages"]
    assert [r["title"] for r in rows] == ["Write the launch post"]


def test_a_page_under_a_page_and_a_parent_is_required(world):
    child = world.run(
        world.alice, "notion_create_page", parent_page_id=world.emulator.wiki["id"], title="FAQ"
    )
    assert child["title"] == "FAQ"
    with pytest.raises(ToolInvalid):
        world.run(world.alice, "notion_create_page", title="Orphan")
