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
    ToolForbidden,
    ToolInvalid,
)
from core.errors import NotFound
from tests.callers import as_identifier
from tests.factories import ConnectedAccountFactory, ConnectionFactory


def execute(org, identifier, name, params):
    caller = as_identifier(org, identifier)
    return tools.execute_tool(caller=caller, tool_name=name, params=params)


def run(org, who, name, **params):
    return execute(org, who.user.identifier, name, params)["data"]


def test_every_tool_name_is_valid_and_prefixed(db):
    names = list(tools.tool_registry())
    assert len(names) >= 75
    for tool in tools.tool_registry().values():
        prefixes = providers()[tool.provider].prefixes
        assert tool.name.startswith(tuple(f"{p}_" for p in prefixes)), tool.name
    for tool in tools.tool_registry().values():
        schema = tool.input_schema
        assert schema["additionalProperties"] is False
        assert all("description" in p or "$ref" in p for p in schema["properties"].values()), (
            tool.name
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
    assert "monday_create_item" in names and len(names) == len(providers()["monday"].tools)
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
    caller = as_identifier(org, alice.user.identifier)
    with CaptureQueriesContext(db) as with_one_account:
        tools.list_tools(caller=caller)
    second = ConnectionFactory(organization=org, name="monday-eu")
    ConnectedAccountFactory(connection=second, identifier=alice.user.identifier)
    for n in range(5):
        ConnectedAccountFactory(connection=second, identifier=f"customer-{n}")
    with CaptureQueriesContext(db) as with_many:
        listed = tools.list_tools(caller=caller)
    assert {entry.connection_name for entry in listed} == {"monday", "monday-eu"}
    assert len(with_one_account) == len(with_many) == 1


def test_no_account_means_404_and_other_orgs_accounts_are_invisible(org, other_org, alice):
    with pytest.raises(NotFound) as raised:
        execute(other_org, alice.user.identifier, "monday_get_me", {})
    assert raised.value.status == 404 and raised.value.code == "no_connected_account"


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
