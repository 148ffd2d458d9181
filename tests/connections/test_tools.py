"""execute_tool and list_tools against the monday.com GraphQL emulator, as the user."""

import pytest
from django.db import connection as db
from django.test.utils import CaptureQueriesContext

from audit.models import AuditEvent
from connections import accounts, tools
from connections.errors import NeedsReauthorization
from connections.models import AccountStatus, ConnectedAccount, Connection
from connections.providers import providers
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


def test_every_tool_name_is_valid_and_prefixed(db):
    names = list(tools.tool_registry())
    assert len(names) >= 75
    for tool in tools.tool_registry().values():
        prefixes = providers()[tool.provider].tool_prefixes
        assert tool.name.startswith(tuple(f"{p}_" for p in prefixes)), tool.name
    for tool in tools.tool_registry().values():
        schema = tool.input_schema
        assert schema["additionalProperties"] is False
        assert all("description" in p or "$ref" in p for p in schema["properties"].values()), (
            tool.name
        )


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


def test_a_401_refreshes_once_and_retries(org, alice, monday):
    account = ConnectedAccount.objects.get(identifier=alice.user.identifier)
    token = accounts.token_set(account)["access_token"]
    monday.expire_access_token(token)
    assert run(org, alice, "monday_get_me")["name"] == "Alice"
    assert monday.refresh_count == 1


def test_revoked_at_the_provider_expires_the_account_with_a_link(org, alice, monday):
    monday.revoke_all_for_user(101)
    with pytest.raises(NeedsReauthorization) as raised:
        run(org, alice, "monday_get_me")
    assert raised.value.status == 409
    assert raised.value.details["authorization_link"].startswith("http")
    assert (
        ConnectedAccount.objects.get(identifier=alice.user.identifier).status
        == AccountStatus.EXPIRED
    )


def test_list_tools_follows_granted_scopes_and_disabled_tools(org, alice):
    names = {
        t.tool.name for t in tools.list_tools(caller=as_identifier(org, alice.user.identifier))
    }
    assert "monday_create_item" in names and len(names) == 12
    account = ConnectedAccount.objects.get(identifier=alice.user.identifier)
    account.scopes = ["boards:read", "me:read"]
    account.save()
    Connection.objects.update(disabled_tools=["monday_get_me"])
    names = {
        t.tool.name for t in tools.list_tools(caller=as_identifier(org, alice.user.identifier))
    }
    assert "monday_create_item" not in names and "monday_get_me" not in names
    assert "monday_list_boards" in names
    with pytest.raises(ToolForbidden):
        run(org, alice, "monday_create_item", board_id=1001, item_name="x")


def test_list_tools_costs_one_query_however_many_accounts(org, alice, owner):
    with CaptureQueriesContext(db) as captured:
        tools.list_tools(caller=as_identifier(org, alice.user.identifier))
    assert len(captured) <= 3


def test_no_account_means_404_and_other_orgs_accounts_are_invisible(org, other_org, alice):
    with pytest.raises(Exception) as raised:
        execute(other_org, alice.user.identifier, "monday_get_me", {})
    assert raised.value.status == 404


def test_every_execution_is_audited_with_redacted_params(org, alice):
    with pytest.raises(ToolInvalid):
        execute(
            org,
            alice.user.identifier,
            "monday_add_update",
            {"item_id": 1, "body": "x" * 500, "api_key": "k"},
        )
    run(org, alice, "monday_get_me")
    events = list(AuditEvent.objects.filter(action="tool.executed").order_by("id"))
    assert [e.outcome for e in events] == ["failure", "success"]
    assert events[0].metadata["status"] == 422
    assert events[0].metadata["params"]["api_key"] == "[redacted]"
    assert len(events[0].metadata["params"]["body"]) < 300
    assert events[1].metadata["provider_status"] == 200 and events[1].metadata["latency_ms"] >= 0


def test_the_api_version_header_is_sent(org, alice, monday):
    run(org, alice, "monday_get_me")
    assert monday.api.api_requests[-1]["api_version"]
