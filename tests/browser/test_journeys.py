"""The main journeys in a real browser: sign up, set up monday.com, connect through the
real OAuth redirects, run the seed prompt, review and export the audit log, and prove a
second organization sees none of it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.core import mail

from agents import configuration as agents_configuration
from agents.models import AgentRun
from connections.models import AccountStatus, ConnectedAccount
from portal.models import ApiKey
from tests.agent_support import OPENAI_KEY, SEED_PROMPT
from tests.browser.conftest import save_screenshot, sign_in
from tests.factories import PASSWORD, MembershipFactory, OrganizationFactory
from tests.fakes.openai_server import OpenAIServer, call, reply
from tests.monday_support import (
    CLIENT_ID,
    CLIENT_SECRET,
    MONDAY_ALICE,
    emulated_connection,
    emulator_overrides,
)

pytestmark = pytest.mark.django_db(transaction=True)
NEW_PASSWORD = "browser-journey-pass-phrase-7"


@pytest.fixture
def monday_app(monday, live_server):
    """The emulator knows the live server's exact redirect URI."""
    monday.add_client(CLIENT_ID, CLIENT_SECRET, [f"{live_server.url}/oauth/callback/monday/"])
    return monday


@pytest.fixture
def connection(org, monday_app):
    return emulated_connection(org, monday_app)


def connect_monday(page) -> None:
    """Connect button → the provider's authorize page (the emulator approves) → callback."""
    page.goto("/connected-accounts/")
    page.get_by_role("button", name="Connect").first.click()
    page.wait_for_url(re.compile(r".*/connected-accounts/.*"))


def test_sign_up_and_create_an_organization(page):
    page.goto("/accounts/signup/")
    page.fill("input[name=email]", "founder@newco.test")
    page.fill("input[name=password1]", NEW_PASSWORD)
    page.fill("input[name=password2]", NEW_PASSWORD)
    page.locator("main form button[type=submit]").first.click()
    page.wait_for_load_state()
    link = re.search(r"https?://\S+/accounts/confirm-email/\S+/", mail.outbox[-1].body).group(0)
    page.goto(re.sub(r"^https?://[^/]+", "", link))
    page.locator("main form button[type=submit]").first.click()
    page.wait_for_url(re.compile(r".*/welcome/$"))
    page.fill("input[name=name]", "NewCo")
    page.locator("main form button[type=submit]").first.click()
    page.wait_for_url(re.compile(r".*/members/$"))
    assert page.get_by_text("NewCo is ready").is_visible()
    save_screenshot(page, "1-signed-up-with-organization")


def test_an_owner_adds_a_monday_connection_pointed_at_the_emulator(page, org, owner, monday_app):
    sign_in(page, owner.user.email, PASSWORD)
    page.goto("/connections/")
    page.get_by_role("link", name="Set up monday.com").click()
    page.fill("input[name=name]", "monday")
    page.fill("input[name=client_id]", CLIENT_ID)
    page.fill("input[name=client_secret]", CLIENT_SECRET)
    for field, url in emulator_overrides(monday_app).items():
        page.fill(f"input[name={field}]", url)
    page.locator("main form button[type=submit]").last.click()
    page.wait_for_url(re.compile(r".*/connections/monday/$"))
    redirect_uri = page.get_by_label("Redirect URI", exact=True).inner_text().strip()
    assert redirect_uri.endswith("/oauth/callback/monday/")
    assert CLIENT_SECRET not in page.content()
    save_screenshot(page, "2-connection-added")


def test_a_member_connects_through_the_real_oauth_redirects(page, org, member, connection):
    sign_in(page, member.user.email, PASSWORD)
    connect_monday(page)
    assert page.get_by_text("account is connected").is_visible()
    assert page.locator(".badge.ACTIVE").first.is_visible()
    account = ConnectedAccount.objects.get(identifier=member.user.identifier)
    assert account.status == AccountStatus.ACTIVE
    save_screenshot(page, "3-member-connected")


def test_the_seed_prompt_creates_the_item_as_the_member(
    page, org, member, connection, boards, settings
):
    with OpenAIServer() as model:
        settings.OPENAI_BASE_URL, settings.OPENAI_API_KEY = model.base_url, OPENAI_KEY
        model.queue(
            call(
                "monday_create_item",
                board_id="1001",
                item_name="Q3 Campaign Launch",
                column_values={"status": "In Progress"},
            ),
            reply("Created **Q3 Campaign Launch** on Marketing, status In Progress."),
        )
        agent = agents_configuration.create_agent(org=org, name="Assistant")
        sign_in(page, member.user.email, PASSWORD)
        connect_monday(page)
        page.goto("/agents/")
        page.get_by_role("link", name="Assistant").first.click()
        page.fill("textarea[name=prompt]", SEED_PROMPT)
        page.get_by_role("button", name=re.compile("Run as")).click()
        page.wait_for_url(re.compile(r".*/runs/[0-9a-f-]+/$"))
        page.get_by_text("Created Q3 Campaign Launch").wait_for()
        assert page.locator("td code", has_text="monday_create_item").first.is_visible()
        assert page.locator(".badge.succeeded").first.is_visible()
    created = [i for i in boards.items.values() if i["name"] == "Q3 Campaign Launch"]
    assert [i["creator_id"] for i in created] == [MONDAY_ALICE]
    assert AgentRun.objects.get(agent=agent).user == member.user
    save_screenshot(page, "4-seed-run-succeeded")


def test_an_admin_reviews_the_audit_log_and_exports_csv(page, org, owner, member, connection):
    sign_in(page, member.user.email, PASSWORD)
    connect_monday(page)  # leaves connected_account.* events
    page.context.clear_cookies()
    sign_in(page, owner.user.email, PASSWORD)
    page.goto("/audit/")
    page.get_by_text("Verified").wait_for()
    page.fill("input[name=action]", "connected_account.")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url(re.compile(r".*action=connected_account.*"))
    rows = page.locator("table.table tbody tr")
    assert rows.count() >= 1 and "connected_account." in rows.first.inner_text()
    with page.expect_download() as download_info:
        page.get_by_role("link", name="CSV").click()
    csv_text = Path(download_info.value.path()).read_text()
    assert csv_text.startswith("id,created_at") and "connected_account." in csv_text
    assert "account.signed_in" not in csv_text  # the filter travelled with the export
    rows.first.locator("a").first.click()
    page.wait_for_url(re.compile(r".*/audit/\d+/$"))
    assert page.get_by_role("heading", name="Metadata").is_visible()
    save_screenshot(page, "5-audit-reviewed")


def test_a_second_organizations_member_sees_none_of_it(page, org, member, connection):
    agent = agents_configuration.create_agent(org=org, name="Assistant")
    run = AgentRun.objects.create(
        organization=org,
        agent=agent,
        user=member.user,
        identifier=member.user.identifier,
        prompt="secret plans",
    )
    outsider = MembershipFactory(organization=OrganizationFactory(name="Globex"), role="owner")
    sign_in(page, outsider.user.email, PASSWORD)
    for path in ("/", "/runs/", "/agents/", "/connected-accounts/", "/audit/"):
        page.goto(path)
        html = page.content()
        assert "secret plans" not in html and "Assistant" not in html
        assert member.user.email not in html
    response = page.goto(f"/runs/{run.pk}/")
    assert response.status == 404
    save_screenshot(page, "6-other-organization-sees-nothing")


def test_api_docs_and_a_new_key_work_under_the_content_security_policy(page, org, owner):
    sign_in(page, owner.user.email, PASSWORD)
    page.goto("/api-keys/")
    page.fill("input[name=name]", "billing-backend")
    page.get_by_role("button", name="Create key").click()
    key_field = page.locator("#new-key")
    key_field.click()  # app.js selects it for copying: no inline handler
    assert page.evaluate("() => window.getSelection().toString() || document.activeElement.value")
    assert key_field.input_value().startswith("ap_")
    # Revoking asks first (app.js): dismissing keeps the key, accepting revokes it.
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.get_by_role("button", name="Revoke").click()
    page.wait_for_timeout(300)
    assert ApiKey.objects.get(name="billing-backend").revoked_at is None
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Revoke").click()
    page.wait_for_load_state()
    page.get_by_text("revoked").first.wait_for()
    assert ApiKey.objects.get(name="billing-backend").revoked_at is not None
    page.goto("/api/docs/")
    page.get_by_text("/api/v1/organization").first.wait_for()
    assert page.locator(".swagger-ui").is_visible()


def test_an_admin_adds_a_webhook_endpoint_sends_a_test_event_and_sees_it_delivered(
    page, org, owner
):
    from standardwebhooks.webhooks import Webhook

    from tests.fakes.webhook_receiver import WebhookReceiver

    with WebhookReceiver() as receiver:
        sign_in(page, owner.user.email, PASSWORD)
        page.goto("/webhooks/")
        page.fill("input[name=url]", receiver.url)
        page.fill("input[name=description]", "Our backend")
        page.get_by_role("button", name="Add endpoint").click()
        secret = page.locator("#new-secret").input_value()
        assert secret.startswith("whsec_")
        page.get_by_role("link", name="Log").first.click()
        page.get_by_role("button", name="Send test event").click()
        log = page.locator("#delivery-log")
        log.get_by_text("webhook.test").wait_for()
        assert "Delivered" in log.inner_text()
        save_screenshot(page, "webhook-delivery-log")
        (received,) = receiver.received
        assert Webhook(secret).verify(received.body, received.headers)["type"] == "webhook.test"
