"""The newcomer's tour in a real browser, as `make run` seeds it: sandbox monday connected
as yourself, your tools, the agent (on the sandbox model) creating an item, the approval,
the item in the sandbox's own view, the audit event, the MCP command — and a second member
refused a board they are not on, by the sandbox and so by their agent."""

from __future__ import annotations

import re
from io import StringIO

import pytest
from django.core.management import call_command

from agents.models import Agent, AgentRun, RunStatus
from tests.browser.conftest import save_screenshot, sign_in
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)
MEMBER_EMAIL = "member@acme.test"


@pytest.fixture
def tour(org, owner, settings):
    settings.OPENAI_API_KEY, settings.OPENAI_BASE_URL = "", ""
    call_command("seed_demo_agent", "--org", org.slug, stdout=StringIO())
    call_command(
        "seed_sandbox", "--org", org.slug, "--member-password", PASSWORD, stdout=StringIO()
    )
    return Agent.objects.get(organization=org, name="Assistant")


def connect_sandbox_monday(page) -> None:
    page.goto("/connected-accounts/")
    section = page.locator("section.connection-row", has_text="monday-sandbox")
    section.get_by_role("button", name="Connect").click()
    page.get_by_role("heading", name=re.compile("Sandbox monday.com: allow access")).wait_for()
    page.get_by_role("button", name="Allow").click()
    page.wait_for_url(re.compile(r".*/connected-accounts/.*"))
    section = page.locator("section.connection-row", has_text="monday-sandbox")
    assert section.locator(".badge.ACTIVE").is_visible()


def run_agent(page, prompt: str) -> None:
    page.goto("/agents/")
    page.get_by_role("link", name="Assistant").first.click()
    page.fill("textarea[name=prompt]", prompt)
    page.get_by_role("button", name=re.compile("Run as")).click()
    page.wait_for_url(re.compile(r".*/runs/[0-9a-f-]+/$"))


def test_the_sandbox_tour_end_to_end(page, org, owner, tour):
    sign_in(page, owner.user.email, PASSWORD)
    page.goto("/")
    page.get_by_role("heading", name=re.compile("Take the tour")).wait_for()
    assert page.get_by_text("npx @modelcontextprotocol/inspector").is_visible()

    connect_sandbox_monday(page)
    page.goto("/tools/")
    assert page.get_by_text("monday_create_item").first.is_visible()

    run_agent(page, 'call monday_create_item {"board_id": "4001", "item_name": "Tour item"}')
    page.get_by_role("button", name="Approve").click()
    page.locator(".badge.succeeded").first.wait_for()
    assert page.get_by_text("sandbox model").first.is_visible()
    assert AgentRun.objects.get(agent=tour).status == RunStatus.SUCCEEDED

    page.goto("/connected-accounts/")
    page.locator("section.connection-row", has_text="monday-sandbox").get_by_role(
        "link", name="see its data"
    ).click()
    page.get_by_text("Tour item").wait_for()

    page.goto("/audit/?action=tool.executed")
    assert page.get_by_text("monday_create_item").first.is_visible()
    save_screenshot(page, "sandbox-tour-owner")


def test_a_second_member_is_refused_a_board_they_are_not_on(page, org, owner, tour):
    sign_in(page, MEMBER_EMAIL, PASSWORD)
    connect_sandbox_monday(page)
    run_agent(page, 'call monday_list_items {"board_id": "4002"}')
    page.locator(".badge.succeeded, .badge.failed").first.wait_for()
    run = AgentRun.objects.get(agent=tour)
    assert "Salary review" not in page.content() and "Salary review" not in run.final_text
    assert run.steps.filter(kind="tool", outcome="error").exists()
    run_agent(page, "call monday_list_boards {}")
    page.locator(".badge.succeeded").first.wait_for()
    assert "Launch plan" in page.content() and "Leadership" not in page.content()
    save_screenshot(page, "sandbox-tour-member")
