"""Single sign-on in a real browser (issue 27): from the sign-in page's SSO link, the
work email, the company's OpenID Connect provider (an emulator signing real ID tokens)
and back — a new member, just in time; then "require SSO" sends a member's password
sign-in to single sign-on instead."""

from __future__ import annotations

import pytest

from identity import domains, sso
from identity.models import SsoConnection
from portal.models import Membership, Role
from tests.browser.conftest import save_screenshot, sign_in
from tests.callers import as_member
from tests.factories import PASSWORD, MembershipFactory, UserFactory
from tests.fakes.enterprise_idp import EnterpriseIdp

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def idp():
    with EnterpriseIdp() as server:
        yield server


def test_sso_signs_a_new_member_in_and_require_sso_refuses_passwords(
    page, chromium, live_server, org, owner, idp, settings
):
    settings.ACCOUNT_DEFAULT_HTTP_PROTOCOL = "http"  # the live server speaks plain http
    settings.DOMAIN_ADMIN_CONFIRM = True
    domain = domains.add_domain(caller=as_member(owner), domain="acme.example")
    domains.confirm_domain(caller=as_member(owner), domain_id=domain.pk)
    sso.configure(
        caller=as_member(owner),
        issuer=idp.issuer,
        client_id=idp.oidc_client[0],
        client_secret=idp.oidc_client[1],
        group_roles={"portal-admins": "admin"},
    )
    idp.add_person("00u-nina", "nina@acme.example")
    idp.groups["00u-nina"] = ["portal-admins"]
    idp.login_as("00u-nina")

    page.goto("/accounts/login/")
    page.get_by_role("link", name="Sign in with single sign-on (SSO)").click()
    page.fill("input[name=email]", "nina@acme.example")
    page.get_by_role("button", name="Continue", exact=True).click()
    page.get_by_role("button", name="Continue to your identity provider").click()
    page.wait_for_url(f"{live_server.url}/")
    assert org.name in page.locator("h1").first.inner_text()
    nina = Membership.objects.get(organization=org, user__email="nina@acme.example")
    assert nina.role == Role.ADMIN
    save_screenshot(page, "sso-signed-in-1280")

    SsoConnection.objects.update(require_sso=True)
    mia = MembershipFactory(organization=org, user=UserFactory(email="mia@acme.example"))
    other = chromium.new_context(base_url=live_server.url).new_page()
    sign_in(other, mia.user.email, PASSWORD)
    other.wait_for_url(f"{live_server.url}/sso/")
    assert "requires single sign-on" in other.content()
    save_screenshot(other, "sso-required-1280")
