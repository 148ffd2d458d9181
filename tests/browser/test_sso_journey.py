"""Single sign-on in a real browser (issue 27): from the sign-in page's SSO link, the
work email, the company's OpenID Connect provider (an emulator signing real ID tokens)
and back — a new member, just in time; then "require SSO" sends a member's password
sign-in to single sign-on instead."""

from __future__ import annotations

import httpx2
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


def test_saml_single_sign_on_in_a_real_browser(chromium, live_server, org, owner, settings):
    from tests.fakes.saml_idp import XMLSEC1, SamlIdp

    if XMLSEC1 is None:
        pytest.skip("xmlsec1 is not installed (`make test` installs Debian's xmlsec1)")
    # python3-saml wants a dotted host or an address in its URLs, not `localhost`.
    origin = live_server.url.replace("localhost", "127.0.0.1")
    settings.PORTAL_BASE_URL = origin
    settings.DOMAIN_ADMIN_CONFIRM = True
    domain = domains.add_domain(caller=as_member(owner), domain="acme.example")
    domains.confirm_domain(caller=as_member(owner), domain_id=domain.pk)
    with SamlIdp() as idp:
        connection = sso.configure(
            caller=as_member(owner),
            protocol="saml",
            issuer=idp.entity_id,
            sso_url=idp.sso_url,
            x509cert=idp.certificate,
        )
        metadata = httpx2.get(f"{origin}/accounts/saml/{connection.provider_id}/metadata/")
        idp.trust_sp(metadata.text)
        idp.login_as("omar@acme.example")
        tab = chromium.new_context(base_url=origin).new_page()

        tab.goto("/sso/")
        tab.fill("input[name=email]", "omar@acme.example")
        tab.get_by_role("button", name="Continue", exact=True).click()
        tab.get_by_role("button", name="Continue to your identity provider").click()
        tab.wait_for_url(f"{origin}/")  # the provider's form posted back; signed in
        assert org.name in tab.locator("h1").first.inner_text()
        member = Membership.objects.get(organization=org, user__email="omar@acme.example")
        assert member.role == Role.MEMBER
        save_screenshot(tab, "saml-signed-in-1280")
