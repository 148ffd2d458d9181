"""The policy page in a real browser (issue 26): an admin writes a rule, previews it on
the organization's recent calls, saves it, and finds the call it then denies in the
audit log."""

from __future__ import annotations

import pytest

from connections import tools
from connections.errors import ToolForbidden
from tests.browser.conftest import save_screenshot, sign_in
from tests.callers import as_identifier
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)


def test_an_admin_creates_previews_and_saves_a_rule_then_sees_a_denied_call(
    page, org, owner, alice, boards
):
    caller = as_identifier(org, alice.user.identifier)
    for n in range(2):  # the history the preview replays
        tools.execute_tool(
            caller=caller,
            tool_name="monday_create_item",
            params={"board_id": "1001", "item_name": f"Before {n}"},
        )
    sign_in(page, owner.user.email, PASSWORD)
    page.goto("/policy/")
    page.fill("input[name=name]", "No new items")
    page.get_by_label("Deny").check()
    page.fill("input[name=message]", "Items are created by the PMO.")
    page.fill("input[name=tools]", "monday_create_item")
    page.get_by_role("button", name="Preview on recent calls").click()
    preview = page.get_by_role("status", name="Preview")
    preview.wait_for()
    assert "2 denied" in preview.inner_text() and "changes the outcome of 2" in preview.inner_text()
    save_screenshot(page, "policy-preview-1280")
    page.get_by_role("button", name="Save rule").click()
    page.get_by_text("Rule “No new items” saved.").wait_for()
    assert page.get_by_role("link", name="No new items").is_visible()

    org.refresh_from_db()
    with pytest.raises(ToolForbidden):
        tools.execute_tool(
            caller=as_identifier(org, alice.user.identifier),
            tool_name="monday_create_item",
            params={"board_id": "1001", "item_name": "After"},
        )
    page.goto("/audit/?action=tool")
    row = page.locator("tr", has_text="policy_denied").first
    row.wait_for()
    assert "monday_create_item" in row.inner_text()
    save_screenshot(page, "policy-denied-in-audit-1280")
