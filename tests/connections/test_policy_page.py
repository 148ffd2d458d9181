"""The policy page: rules in order, a dry run over the audited history before saving
(issue 26 item 2), saving, and members kept out."""

from __future__ import annotations

import re

from connections import tools
from connections.models import PolicyRule
from tests.callers import as_identifier

FORM = {
    "name": "No new items",
    "effect": "deny",
    "message": "",
    "position": "10",
    "tools": "monday_create_item",
    "access": "any",
    "identifiers": "",
    "agents": "",
    "clients": "",
    "condition_path": "",
    "condition_op": "",
    "condition_value": "",
    "limit_per": "member",
    "enabled": "on",
}


def seed_history(org, alice) -> None:
    """Five reads and three writes, audited as they happened."""
    caller = as_identifier(org, alice.user.identifier)
    for _ in range(5):
        tools.execute_tool(caller=caller, tool_name="monday_get_me", params={})
    for n in range(3):
        tools.execute_tool(
            caller=caller,
            tool_name="monday_create_item",
            params={"board_id": "1001", "item_name": f"Item {n}"},
        )


def counts(page: str) -> dict[str, int]:
    return {
        kind: int(re.search(rf'class="preview-{kind}">(\d+)', page).group(1))
        for kind in ("allowed", "denied", "approval", "limited", "changed")
    }


def test_the_dry_run_shows_what_a_rule_would_have_done_and_saves_nothing(
    org, alice, boards, owner_client
):
    seed_history(org, alice)
    page = owner_client.post("/policy/", {**FORM, "action": "preview"}).content.decode()
    assert counts(page) == {"allowed": 5, "denied": 3, "approval": 0, "limited": 0, "changed": 3}
    assert "monday_create_item" in page and "Nothing was saved" in page
    assert not PolicyRule.objects.exists()

    limit = {**FORM, "name": "Two reads a minute", "effect": "limit", "tools": "monday_get_me"}
    limit |= {"limit_count": "2", "limit_window_seconds": "3600", "action": "preview"}
    page = owner_client.post("/policy/", limit).content.decode()
    assert counts(page) == {"allowed": 5, "denied": 0, "approval": 0, "limited": 3, "changed": 3}
    approve = {**FORM, "effect": "approve", "action": "preview"}
    assert counts(owner_client.post("/policy/", approve).content.decode())["approval"] == 3

    conditional = {**FORM, "condition_path": "$.item_name", "condition_op": "in"}
    conditional |= {"condition_value": "Item 0, Item 2", "action": "preview"}
    page = owner_client.post("/policy/", conditional).content.decode()
    assert counts(page)["denied"] == 2


def test_saving_a_rule_puts_it_in_order_and_it_decides_calls(org, alice, boards, owner_client):
    saved = owner_client.post("/policy/", {**FORM, "action": "save"})
    assert saved.status_code == 302
    rule = PolicyRule.objects.get()
    page = owner_client.get("/policy/").content.decode()
    assert "No new items" in page and "monday_create_item" in page
    edited = owner_client.post(
        f"/policy/{rule.pk}/", {**FORM, "name": "No items at all", "action": "save"}
    )
    assert edited.status_code == 302
    rule.refresh_from_db()
    assert rule.name == "No items at all" and rule.version == 2
    refused = owner_client.post("/policy/", {**FORM, "effect": "limit", "action": "save"})
    assert (
        "limit_count" in refused.content.decode() or "needs limit_count" in refused.content.decode()
    )
    assert PolicyRule.objects.count() == 1


def test_members_do_not_see_the_policy_page(member_client):
    assert member_client.get("/policy/").status_code == 404
