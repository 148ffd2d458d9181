"""monday.com's tools against its GraphQL emulator (emulator.py beside them), as the
user: what each returns, how monday's errors map, what is refused before anything is sent."""

import pytest

from connections import tools
from connections.models import AccountStatus, ConnectedAccount
from connections.tooling import (
    ProviderUnavailable,
    ToolForbidden,
    ToolInvalid,
    ToolNotFound,
    ToolRateLimited,
)
from tests.callers import as_identifier


def execute(org, identifier, name, params):
    caller = as_identifier(org, identifier)
    return tools.execute_tool(caller=caller, tool_name=name, params=params)


def run(org, who, name, **params):
    return execute(org, who.user.identifier, name, params)["data"]


def test_get_me_answers_as_the_connected_user(org, alice):
    assert run(org, alice, "monday_get_me")["name"] == "Alice"


def test_list_boards_shows_only_the_users_boards(org, alice):
    names = [b["name"] for b in run(org, alice, "monday_list_boards")["boards"]]
    assert names == ["Marketing"]


def test_get_board_lists_groups_columns_and_status_labels(org, alice):
    board = run(org, alice, "monday_get_board", board_id=1001)
    assert [g["id"] for g in board["groups"]] == ["topics", "next"]
    status = next(c for c in board["columns"] if c["id"] == "status")
    assert "In Progress" in status["labels"]


def test_create_item_converts_friendly_column_values(org, alice, boards):
    item = run(
        org,
        alice,
        "monday_create_item",
        board_id="1001",
        item_name="Q3 Campaign Launch",
        group_id="next",
        column_values={"status": "In Progress", "date4": "2026-12-01", "text": "kick-off"},
    )
    stored = boards.items[item["id"]]
    assert stored["name"] == "Q3 Campaign Launch" and stored["group_id"] == "next"
    assert stored["values"]["status"]["value"] == {"label": "In Progress"}
    assert stored["values"]["date4"]["value"] == {"date": "2026-12-01"}
    assert item["columns"]["status"] == "In Progress" and item["url"].startswith("https://")


def test_list_items_filters_and_paginates(org, alice, boards):
    for n in range(5):
        boards.add_item(1001, f"Task {n}", status={"label": "Done"})
    first = run(org, alice, "monday_list_items", board_id=1001, status="Done", limit=3)
    assert len(first["items"]) == 3 and first["next_cursor"]
    second = run(
        org, alice, "monday_list_items", board_id=1001, cursor=first["next_cursor"], limit=3
    )
    assert len(second["items"]) == 2 and second["next_cursor"] is None
    found = run(org, alice, "monday_list_items", board_id=1001, search="launch")
    assert [i["name"] for i in found["items"]] == ["Launch plan"]


def test_get_update_move_archive_and_delete_an_item(org, alice, boards):
    item_id = boards.add_item(1001, "Draft")
    assert run(org, alice, "monday_get_item", item_id=item_id)["name"] == "Draft"
    updated = run(
        org,
        alice,
        "monday_update_item",
        board_id=1001,
        item_id=item_id,
        column_values={"status": "Done"},
    )
    assert updated["columns"]["status"] == "Done"
    moved = run(org, alice, "monday_move_item_to_group", item_id=int(item_id), group_id="next")
    assert moved["group"]["id"] == "next"
    assert run(org, alice, "monday_archive_item", item_id=item_id)["state"] == "archived"
    other = boards.add_item(1001, "Scrap")
    run(org, alice, "monday_delete_item", item_id=other)
    assert boards.items[other]["state"] == "deleted"


def test_add_and_list_updates(org, alice, boards):
    item_id = boards.add_item(1001, "Discuss")
    run(org, alice, "monday_add_update", item_id=item_id, body="Looks good")
    updates = run(org, alice, "monday_list_updates", item_id=item_id)["updates"]
    assert [u["text"] for u in updates] == ["Looks good"] and updates[0]["creator"] == "Alice"


def test_invalid_params_list_every_error_and_send_nothing(org, alice, monday):
    before = len(monday.api.api_requests)
    with pytest.raises(ToolInvalid) as raised:
        execute(org, alice.user.identifier, "monday_create_item", {"board_id": "abc", "extra": 1})
    paths = {e["path"] for e in raised.value.details["errors"]}
    assert {"$.board_id", "$"} <= paths
    assert "item_name" in raised.value.message and "extra" in raised.value.message
    assert len(monday.api.api_requests) == before


def test_a_user_without_access_to_the_board_gets_403_and_nothing_changes(org, bob, boards):
    before = dict(boards.items)
    with pytest.raises(ToolForbidden) as raised:
        execute(
            org,
            bob.user.identifier,
            "monday_create_item",
            {"board_id": 1001, "item_name": "Sneaky"},
        )
    assert "may not do this" in raised.value.message
    assert boards.items == before


def test_unknown_item_is_404(org, alice):
    with pytest.raises(ToolNotFound):
        run(org, alice, "monday_get_item", item_id=999)


def test_unknown_status_label_is_422_with_mondays_message(org, alice):
    with pytest.raises(ToolInvalid) as raised:
        run(
            org,
            alice,
            "monday_create_item",
            board_id=1001,
            item_name="X",
            column_values={"status": "Nope"},
        )
    assert "label does not exist" in raised.value.message


def test_unknown_group_is_422(org, alice, boards):
    item_id = boards.add_item(1001, "Somewhere")
    with pytest.raises(ToolInvalid):
        run(org, alice, "monday_move_item_to_group", item_id=item_id, group_id="nope")
    assert boards.items[item_id]["group_id"] == "topics"


@pytest.mark.parametrize("kind", ["http429", "complexity"])
def test_rate_limits_become_429_with_retry_after(org, alice, monday, kind):
    monday.api.rate_limit_next(1, retry_after=17, kind=kind)
    with pytest.raises(ToolRateLimited) as raised:
        run(org, alice, "monday_get_me")
    assert raised.value.status == 429 and raised.value.retry_after == 17


def test_a_503_becomes_502_and_the_account_stays_active(org, alice, monday):
    monday.api.fail_next_api_requests(1, status=503)
    with pytest.raises(ProviderUnavailable) as raised:
        run(org, alice, "monday_get_me")
    assert raised.value.status == 502
    assert (
        ConnectedAccount.objects.get(identifier=alice.user.identifier).status
        == AccountStatus.ACTIVE
    )


def test_the_api_version_header_is_sent(org, alice, monday):
    run(org, alice, "monday_get_me")
    assert monday.api.api_requests[-1]["api_version"]
