"""Who an account is at the provider, several accounts per person, qualified tool names.

On connect the portal asks the provider "who am I" and keeps the id and label; it shows
them on the connect page, the admin list and the API. A person may add a second account
(work and personal), choose the default, and name an account per call; reconnecting as
another provider account is allowed and audited.
"""

from __future__ import annotations

import pytest

from audit.models import AuditEvent
from connections import tools
from connections.configuration import create_connection
from connections.models import AccountStatus, ConnectedAccount
from core.errors import Conflict, NotFound
from tests.callers import as_identifier
from tests.monday_support import (
    CLIENT_ID,
    CLIENT_SECRET,
    MONDAY_ALICE,
    MONDAY_BOB,
    callback_path,
    connect_via_portal,
    emulator_overrides,
    follow_to_provider,
)


def post_connect(client, monday_user, name="monday", **form):
    start = client.post(f"/connected-accounts/{name}/connect/", form)
    assert start.status_code == 302, start.content[:300]
    return client.get(callback_path(follow_to_provider(start["Location"], monday_user)))


def get_me(org, member, **kwargs):
    caller = as_identifier(org, member.user.identifier)
    return tools.execute_tool(caller=caller, tool_name="monday_get_me", params={}, **kwargs)["data"]


def test_connect_keeps_the_provider_identity_and_shows_it(org, alice, member_client, api):
    account = ConnectedAccount.objects.get()
    assert account.provider_account_id == str(MONDAY_ALICE)
    assert account.provider_account_label == "alice@acme.test"
    assert "alice@acme.test" in member_client.get("/connected-accounts/").content.decode()
    listed = api.get("/api/v1/connected-accounts").json()["results"][0]
    assert listed["provider_account_id"] == str(MONDAY_ALICE)
    assert listed["provider_account_label"] == "alice@acme.test" and listed["is_default"]


def test_reconnecting_as_another_provider_account_is_allowed_and_audited(org, alice, member_client):
    account = ConnectedAccount.objects.get()
    post_connect(member_client, MONDAY_BOB, account_id=str(account.pk))
    account.refresh_from_db()
    assert ConnectedAccount.objects.count() == 1
    assert account.provider_account_id == str(MONDAY_BOB) and account.status == "ACTIVE"
    changed = AuditEvent.objects.get(action="connected_account.identity_changed")
    assert changed.metadata["old_provider_account_id"] == str(MONDAY_ALICE)
    assert changed.metadata["new_provider_account_id"] == str(MONDAY_BOB)
    assert get_me(org, alice)["name"] == "Bob"


def test_a_second_account_is_added_beside_the_first_and_the_default_is_chosen(
    org, alice, member_client
):
    post_connect(member_client, MONDAY_BOB, add="1")
    rows = {a.provider_account_id: a for a in ConnectedAccount.objects.all()}
    assert set(rows) == {str(MONDAY_ALICE), str(MONDAY_BOB)}
    assert rows[str(MONDAY_ALICE)].is_default and not rows[str(MONDAY_BOB)].is_default
    assert all(a.status == AccountStatus.ACTIVE for a in rows.values())
    assert AuditEvent.objects.filter(action="connected_account.added").count() == 1

    assert get_me(org, alice)["name"] == "Alice"  # the default
    assert get_me(org, alice, account_id=rows[str(MONDAY_BOB)].pk)["name"] == "Bob"

    page = member_client.get("/connected-accounts/").content.decode()
    assert "alice@acme.test" in page and "bob@acme.test" in page and "Make default" in page
    member_client.post(
        "/connected-accounts/monday/default/", {"account_id": str(rows[str(MONDAY_BOB)].pk)}
    )
    assert get_me(org, alice)["name"] == "Bob"

    # Disconnecting one leaves the other working.
    member_client.post(
        "/connected-accounts/monday/disconnect/", {"account_id": str(rows[str(MONDAY_BOB)].pk)}
    )
    assert get_me(org, alice)["name"] == "Alice"


def test_adding_the_same_provider_account_again_updates_it(org, alice, member_client):
    post_connect(member_client, MONDAY_ALICE, add="1")
    assert ConnectedAccount.objects.count() == 1


def test_an_account_id_of_someone_else_is_not_found(org, alice, bob):
    bobs = ConnectedAccount.objects.get(identifier=bob.user.identifier)
    with pytest.raises(NotFound) as raised:
        get_me(org, alice, account_id=bobs.pk)
    assert raised.value.status == 404 and raised.value.code == "account_not_found"


def test_two_connections_of_one_provider_qualify_tool_names(
    org, owner, alice, member_client, monday
):
    create_connection(
        org=org,
        name="monday-eu",
        provider="monday",
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        **emulator_overrides(monday),
    )
    connect_via_portal(member_client, MONDAY_BOB, name="monday-eu")
    caller = as_identifier(org, alice.user.identifier)
    names = {entry.name for entry in tools.list_tools(caller=caller)}
    assert {"monday__monday_get_me", "monday-eu__monday_get_me"} <= names
    assert "monday_get_me" not in names
    with pytest.raises(Conflict) as raised:
        tools.execute_tool(caller=caller, tool_name="monday_get_me", params={})
    assert raised.value.code == "connection_ambiguous"
    eu = tools.execute_tool(caller=caller, tool_name="monday-eu__monday_get_me", params={})
    home = tools.execute_tool(caller=caller, tool_name="monday__monday_get_me", params={})
    assert (eu["data"]["name"], home["data"]["name"]) == ("Bob", "Alice")
