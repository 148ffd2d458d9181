"""The first hour of a new admin (issue 24) in a real browser: the provider set-up guide
reads top to bottom at desktop and phone widths, with the whole redirect URI and a copy
button."""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import save_screenshot, sign_in
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("width", [1280, 390])
def test_the_setup_guide_reads_top_to_bottom(page, org, owner, width):
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, owner.user.email, PASSWORD)
    page.goto("/connections/new/monday/")
    guide = page.locator(".setup-guide")
    guide.get_by_role("heading", name="Set up monday.com").wait_for()
    guide_width = guide.bounding_box()["width"]
    steps = guide.locator(".guide-steps > li")
    assert steps.count() == 4
    for index in range(steps.count()):
        box = steps.nth(index).bounding_box()
        assert box["width"] > guide_width * 0.7, (index, box, guide_width)  # not a column
    redirect = guide.locator("[aria-label='Redirect URI']")
    shown = redirect.bounding_box()["width"]
    assert shown > 0.5 * guide_width, shown  # the box is not squeezed to `http://12…`
    assert redirect.inner_text().strip().endswith("/oauth/callback/monday/")  # whole
    assert guide.get_by_role("button", name="Copy").is_visible()
    assert "users:read workspaces:read" in guide.inner_text()
    save_screenshot(page, f"setup-guide-{width}")


def test_on_a_phone_the_navigation_folds_into_a_menu(page, org, owner):
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, owner.user.email, PASSWORD)
    page.goto("/")
    header = page.locator("header.topbar").bounding_box()
    assert header["height"] < 80, header  # one row: brand and the menu button
    nav = page.locator("#mainnav")
    assert not nav.get_by_role("link", name="Connected accounts").is_visible()
    page.get_by_role("button", name="Menu").click()
    nav.get_by_role("link", name="Connected accounts").click()
    page.wait_for_url("**/connected-accounts/")
    save_screenshot(page, "dashboard-menu-390")


def test_a_refused_url_shows_under_its_field_with_what_was_typed(page, org, owner):
    sign_in(page, owner.user.email, PASSWORD)
    page.goto("/webhooks/")
    page.fill("input[name=url]", "https://10.0.0.7/hooks")
    page.get_by_role("button", name="Add endpoint").click()
    field = page.locator("input[name=url]")
    assert field.input_value() == "https://10.0.0.7/hooks"  # kept
    error = page.locator(".field.has-error .error-text").first
    assert error.is_visible() and "private" in error.inner_text().lower()
    assert not error.inner_text().startswith("url:")
    save_screenshot(page, "webhook-url-error-1280")


def test_an_invitee_signs_up_from_the_link_and_lands_in_the_organization(
    page, chromium, live_server, org, owner, settings
):
    settings.ACCOUNT_EMAIL_VERIFICATION = "mandatory"
    sign_in(page, owner.user.email, PASSWORD)
    page.goto("/members/")
    page.fill("input[name=email]", "newbie@acme.test")
    page.get_by_role("button", name="Send invitation").click()
    link = page.locator("code[id^=invite-link-]").first.text_content().strip()
    assert "/invitations/" in link

    invitee = chromium.new_context(base_url=live_server.url).new_page()
    invitee.goto(link)
    invitee.get_by_role("heading", name=f"Join {org.name}").wait_for()
    assert owner.user.email in invitee.content()
    invitee.get_by_role("link", name="Create an account").click()
    assert invitee.locator("input[name=email]").input_value() == "newbie@acme.test"
    invitee.fill("input[name=password1]", "a-new-member-pass-phrase-9")
    invitee.fill("input[name=password2]", "a-new-member-pass-phrase-9")
    invitee.locator("main form button[type=submit]").first.click()
    invitee.get_by_role("button", name="Accept").click()  # back on the invitation, signed in
    invitee.wait_for_url(f"{live_server.url}/")
    assert org.name in invitee.locator("h1").first.inner_text()
    save_screenshot(invitee, "invitation-joined-1280")


def test_the_tool_picker_groups_by_provider_and_filters(page, org, owner):
    from connections.configuration import create_connection

    for key in ("monday", "github", "slack"):
        create_connection(org=org, name=key, provider=key, client_id="c")
    sign_in(page, owner.user.email, PASSWORD)
    page.goto("/agents/new/")
    picker = page.locator(".field.filterable")
    assert picker.get_by_text("GitHub", exact=True).is_visible()
    page.fill("input.checkbox-filter", "issue")
    visible = [
        name
        for name in picker.locator("input[data-filterable]").evaluate_all(
            "inputs => inputs.filter(i => i.offsetParent !== null).map(i => i.value)"
        )
    ]
    assert visible and all("issue" in name for name in visible), visible
    save_screenshot(page, "tool-picker-1280")


def test_stopped_background_work_is_said_on_the_pages_and_a_run_is_refused(
    page, org, owner, settings
):
    from agents import configuration as agents_configuration

    settings.CELERY_TASK_ALWAYS_EAGER = False  # as make run: a worker must report
    agent = agents_configuration.create_agent(org=org, name="Assistant", sandbox_model=True)
    sign_in(page, owner.user.email, PASSWORD)
    for path in ("/", "/runs/", f"/agents/{agent.pk}/", "/webhooks/"):
        page.goto(path)
        assert page.locator(".background-stopped").is_visible(), path
    page.goto(f"/agents/{agent.pk}/")
    page.fill("textarea[name=prompt]", "hello")
    page.get_by_role("button", name=re.compile("Run as")).click()
    assert page.get_by_text("Background work is stopped").first.is_visible()
    from agents.models import AgentRun

    assert not AgentRun.objects.exists()  # refused, not queued into nothing
    save_screenshot(page, "background-stopped-1280")


def test_the_checklist_counts_a_run_only_once_it_reached_a_model(page, org, owner, settings):
    from agents import configuration as agents_configuration
    from connections.configuration import create_connection

    settings.OPENAI_API_KEY, settings.OPENAI_BASE_URL = "", ""
    create_connection(org=org, name="monday", provider="monday", client_id="c")
    from agents.models import AgentRun, RunStatus

    agent = agents_configuration.create_agent(org=org, name="Assistant")  # no model configured
    sign_in(page, owner.user.email, PASSWORD)
    page.goto(f"/agents/{agent.pk}/")
    # No model: the page says why and offers no run button…
    assert page.get_by_role("button", name=re.compile("Run as")).is_disabled()
    # …and a run that ended before any model call (the API, say) does not tick "Run it".
    AgentRun.objects.create(
        organization=org,
        agent=agent,
        user=owner.user,
        identifier=owner.user.identifier,
        prompt="hello",
        status=RunStatus.FAILED,
    )
    page.goto("/")
    run_it = page.locator(".setup .steps li", has_text="Run it")
    assert run_it.is_visible() and "done" not in (run_it.get_attribute("class") or "")
    save_screenshot(page, "dashboard-checklist-1280")


@pytest.mark.parametrize("width", [1280, 390])
def test_the_dashboard_and_a_run_page_fit_the_screen(page, org, owner, width):
    from agents import configuration as agents_configuration
    from agents.models import AgentRun, RunStatus

    agent = agents_configuration.create_agent(org=org, name="Assistant", sandbox_model=True)
    run = AgentRun.objects.create(
        organization=org,
        agent=agent,
        user=owner.user,
        identifier=owner.user.identifier,
        prompt="List my boards and tell me which ones have overdue items, with a long prompt "
        "that has to wrap on a phone instead of pushing the page sideways.",
        status=RunStatus.SUCCEEDED,
        final_text="You have two boards: Launch plan and Leadership.",
        model_calls=1,
    )
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, owner.user.email, PASSWORD)
    for name, path in (("dashboard", "/"), ("run", f"/runs/{run.pk}/")):
        page.goto(path)
        # Nothing wider than the screen: no sideways scrolling at either width.
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, (name, width, overflow)
        save_screenshot(page, f"{name}-{width}")
