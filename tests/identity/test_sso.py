"""Single sign-on per organization, with an OpenID Connect provider emulator that signs
real ID tokens: the work email finds the organization; the first sign-in makes a member
(just in time) with the role the groups map to; answers for addresses outside the
organization's verified domains are refused and audited; "require SSO" refuses a
password sign-in to members but not to owners; the client secret stays in the vault."""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx2
import pytest
from allauth.socialaccount.models import SocialApp
from django.test import Client

from audit.models import AuditEvent
from identity import domains, sso
from identity.models import SsoConnection, VerifiedDomain
from portal.models import Membership, Role, User
from tests.callers import as_member
from tests.factories import PASSWORD, MembershipFactory, UserFactory
from tests.fakes.enterprise_idp import EnterpriseIdp

pytestmark = pytest.mark.django_db(transaction=True)

DOMAIN = "acme.example"


@pytest.fixture
def idp():
    with EnterpriseIdp() as server:
        yield server


@pytest.fixture
def sso_on(org, owner, idp, settings):
    settings.DOMAIN_ADMIN_CONFIRM = True
    domain = domains.add_domain(caller=as_member(owner), domain=DOMAIN)
    domains.confirm_domain(caller=as_member(owner), domain_id=domain.pk)
    return sso.configure(
        caller=as_member(owner),
        issuer=idp.issuer,
        client_id=idp.oidc_client[0],
        client_secret=idp.oidc_client[1],
        group_roles={"portal-admins": "admin", "auditors": "auditor"},
    )


def sign_in_with_sso(browser: Client, idp: EnterpriseIdp, email: str):
    """What a person's browser does: the SSO page, the provider, back to the portal."""
    found = browser.post("/sso/", {"email": email})
    assert found.status_code == 200
    connection = found.context["connection"]
    assert connection is not None, found.content.decode()[:500]
    to_idp = browser.post(f"/accounts/oidc/{connection.provider_id}/login/", {"process": "login"})
    assert to_idp.status_code == 302, to_idp.content[:500]
    back = httpx2.get(to_idp["Location"], follow_redirects=False)
    assert back.status_code == 302
    callback = urlsplit(back.headers["location"])
    return browser.get(f"{callback.path}?{callback.query}")


def test_the_first_sso_sign_in_makes_a_member_with_the_role_of_their_groups(org, idp, sso_on):
    idp.add_person("00u-dana", f"dana@{DOMAIN}")
    idp.groups["00u-dana"] = ["everyone", "portal-admins"]
    idp.login_as("00u-dana")
    browser = Client()

    landed = sign_in_with_sso(browser, idp, f"dana@{DOMAIN}")

    assert landed.status_code == 302 and landed["Location"] == "/"
    dana = User.objects.get(email=f"dana@{DOMAIN}")
    assert Membership.objects.get(organization=org, user=dana).role == Role.ADMIN
    assert not dana.has_usable_password()
    assert browser.get("/").status_code == 200  # signed in, in the organization
    signed = AuditEvent.objects.get(action="sso.signed_in")
    assert signed.organization == org and signed.metadata["role"] == "admin"
    assert not SocialApp.objects.exists()  # the app (and its secret) never left the vault

    # Next time, out of the admins group: the role follows the provider.
    idp.groups["00u-dana"] = ["everyone"]
    idp.login_as("00u-dana")
    sign_in_with_sso(Client(), idp, f"dana@{DOMAIN}")
    assert Membership.objects.get(organization=org, user=dana).role == Role.MEMBER


def test_an_existing_account_is_linked_not_duplicated(org, idp, sso_on):
    erin = UserFactory(email=f"erin@{DOMAIN}")
    idp.add_person("00u-erin", erin.email)
    idp.login_as("00u-erin")
    sign_in_with_sso(Client(), idp, erin.email)
    assert User.objects.filter(email__iexact=erin.email).count() == 1
    assert Membership.objects.get(organization=org, user=erin).role == Role.MEMBER


def test_answers_outside_the_verified_domains_are_refused_and_audited(org, idp, sso_on):
    idp.add_person("00u-mallory", "mallory@elsewhere.example")
    idp.login_as("00u-mallory")
    refused = sign_in_with_sso(Client(), idp, f"anyone@{DOMAIN}")
    assert refused.status_code == 403
    assert not User.objects.filter(email="mallory@elsewhere.example").exists()
    failed = AuditEvent.objects.get(action="sso.sign_in_failed")
    assert failed.organization == org and "not in a domain" in failed.metadata["reason"]


def test_an_unknown_domain_has_no_sso(org, idp, sso_on):
    page = Client().post("/sso/", {"email": "someone@nowhere.example"})
    assert page.status_code == 200 and page.context["connection"] is None
    assert "No single sign-on" in page.content.decode()
    # Nothing names another organization's provider without its domain.
    assert Client().post("/accounts/oidc/sso-0/login/").status_code == 404


def test_require_sso_refuses_members_password_but_not_owners(org, owner, idp, sso_on):
    member = MembershipFactory(
        organization=org, user=UserFactory(email=f"mia@{DOMAIN}"), role=Role.MEMBER
    )
    owner.user.email = f"boss@{DOMAIN}"
    owner.user.save()
    from allauth.account.models import EmailAddress

    EmailAddress.objects.filter(user=owner.user).update(email=owner.user.email)
    SsoConnection.objects.update(require_sso=True)

    refused = Client().post("/accounts/login/", {"login": member.user.email, "password": PASSWORD})
    assert refused.status_code == 302 and refused["Location"] == "/sso/"
    assert AuditEvent.objects.filter(action="sso.password_refused", outcome="denied").exists()
    owner_in = Client().post("/accounts/login/", {"login": owner.user.email, "password": PASSWORD})
    assert owner_in.status_code == 302 and owner_in["Location"] == "/"

    SsoConnection.objects.update(require_sso=False)
    allowed = Client().post("/accounts/login/", {"login": member.user.email, "password": PASSWORD})
    assert allowed.status_code == 302 and allowed["Location"] == "/"


def test_only_owners_set_sso_up_and_the_secret_is_sealed(org, owner, admin, idp, sso_on):
    from core.errors import Forbidden

    with pytest.raises(Forbidden):
        sso.configure(caller=as_member(admin), issuer=idp.issuer, client_id="x", client_secret="y")
    stored = SsoConnection.objects.get()
    assert idp.oidc_client[1] not in stored.client_secret_sealed
    assert stored.get_secret("client_secret_sealed") == idp.oidc_client[1]
    configured = AuditEvent.objects.get(action="sso.configured")
    assert idp.oidc_client[1] not in str(configured.metadata)
    assert VerifiedDomain.objects.get().verified_at is not None


def test_check_deploy_warns_when_owners_may_confirm_domains_in_production(settings):
    from identity.checks import domain_confirmation_off_in_production

    settings.DEBUG, settings.DOMAIN_ADMIN_CONFIRM = False, True
    assert [w.id for w in domain_confirmation_off_in_production(None)] == ["identity.W001"]
    settings.DOMAIN_ADMIN_CONFIRM = False
    assert domain_confirmation_off_in_production(None) == []


@pytest.fixture
def saml_idp():
    from tests.fakes.saml_idp import XMLSEC1, SamlIdp

    if XMLSEC1 is None:
        pytest.skip("xmlsec1 is not installed (`make test` installs Debian's xmlsec1)")
    with SamlIdp() as server:
        yield server


def saml_sign_in(browser: Client, email: str, idp=None):
    """The browser's round trip: SSO page, the provider's AuthnRequest redirect, its
    auto-posting form back to the assertion consumer service."""
    import re
    from html import unescape

    connection = browser.post("/sso/", {"email": email}).context["connection"]
    if idp is not None:
        idp.trust_sp(
            browser.get(f"/accounts/saml/{connection.provider_id}/metadata/").content.decode()
        )
    to_idp = browser.post(f"/accounts/saml/{connection.provider_id}/login/", {"process": "login"})
    assert to_idp.status_code == 302, to_idp.content[:300]
    page = httpx2.get(to_idp["Location"]).text
    fields = {
        name: unescape(value) for name, value in re.findall(r'name="(\w+)" value="([^"]*)"', page)
    }
    action = unescape(re.search(r'action="([^"]+)"', page).group(1))
    posted = browser.post(urlsplit(action).path, fields)
    assert posted.status_code == 302, posted.content[:300]
    return browser.get(posted["Location"])


def test_saml_sign_in_makes_a_member_with_the_role_of_their_groups(org, owner, saml_idp, settings):
    settings.DOMAIN_ADMIN_CONFIRM = True
    domain = domains.add_domain(caller=as_member(owner), domain=DOMAIN)
    domains.confirm_domain(caller=as_member(owner), domain_id=domain.pk)
    sso.configure(
        caller=as_member(owner),
        protocol="saml",
        issuer=saml_idp.entity_id,
        sso_url=saml_idp.sso_url,
        x509cert=saml_idp.certificate,
        group_roles={"portal-admins": "admin"},
    )
    saml_idp.login_as(f"sara@{DOMAIN}", ["portal-admins"])
    browser = Client(HTTP_HOST="127.0.0.1")  # python3-saml reads the Host header

    landed = saml_sign_in(browser, f"sara@{DOMAIN}", saml_idp)

    assert landed.status_code == 302 and landed["Location"] == "/", landed.content[:500]
    sara = User.objects.get(email=f"sara@{DOMAIN}")
    assert Membership.objects.get(organization=org, user=sara).role == Role.ADMIN
    assert AuditEvent.objects.get(action="sso.signed_in").metadata["groups"] == ["portal-admins"]

    saml_idp.login_as("mallory@elsewhere.example")
    refused = saml_sign_in(Client(HTTP_HOST="127.0.0.1"), f"sara@{DOMAIN}")
    assert refused.status_code == 403
    assert AuditEvent.objects.filter(action="sso.sign_in_failed").exists()


def test_the_identity_page_sets_sso_up_for_owners_only(org, owner, admin, member, idp):
    from tests.fixtures import signed_in

    form = {
        "protocol": "oidc",
        "issuer": idp.issuer,
        "client_id": "portal-client",
        "client_secret": "portal-secret",
        "default_role": "member",
        "groups_claim": "groups",
        "group_roles": "portal-admins=admin\nreaders=auditor",
        "require_sso": "on",
    }
    assert signed_in(owner).post("/identity/sso/", form).status_code == 302
    connection = SsoConnection.objects.get()
    assert connection.group_roles == {"portal-admins": "admin", "readers": "auditor"}
    assert connection.require_sso
    page = signed_in(owner).get("/identity/").content.decode()
    assert f"/accounts/oidc/{connection.provider_id}/login/callback/" in page
    assert "portal-secret" not in page
    assert "Only owners change it" in signed_in(admin).get("/identity/").content.decode()
    signed_in(admin).post("/identity/sso/", form | {"issuer": "https://evil.example"})
    assert SsoConnection.objects.get().issuer == idp.issuer  # an admin changed nothing
    assert signed_in(member).get("/identity/").status_code == 404
    bad = signed_in(owner).post("/identity/sso/", form | {"group_roles": "x=owner"})
    assert (
        bad.status_code == 302 and SsoConnection.objects.get().group_roles["readers"] == "auditor"
    )


def test_a_saml_answer_signed_by_another_key_is_refused_and_audited(org, owner, saml_idp, settings):
    from tests.fakes.saml_idp import SamlIdp

    settings.DOMAIN_ADMIN_CONFIRM = True
    domain = domains.add_domain(caller=as_member(owner), domain=DOMAIN)
    domains.confirm_domain(caller=as_member(owner), domain_id=domain.pk)
    with SamlIdp() as impostor:  # the portal trusts the impostor's certificate only
        sso.configure(
            caller=as_member(owner),
            protocol="saml",
            issuer=saml_idp.entity_id,
            sso_url=saml_idp.sso_url,
            x509cert=impostor.certificate,
        )
    saml_idp.login_as(f"sara@{DOMAIN}")
    refused = saml_sign_in(Client(HTTP_HOST="127.0.0.1"), f"sara@{DOMAIN}", saml_idp)
    assert refused.status_code != 302 or refused["Location"] != "/"
    assert not User.objects.filter(email=f"sara@{DOMAIN}").exists()
    failed = AuditEvent.objects.get(action="sso.sign_in_failed")
    assert failed.organization == org and failed.outcome == "failure"


def test_a_person_scim_deactivated_cannot_come_back_by_sso(org, owner, idp, sso_on):
    """Between surfaces: just-in-time membership must not undo a SCIM deactivation."""
    from identity import scim
    from portal.callers import Caller

    provider = Caller.of_system(org, via="scim: test")  # the organization's provisioning
    person = scim.create_user(
        caller=provider,
        payload={
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": f"lena@{DOMAIN}",
            "active": False,
        },
    )
    assert not Membership.objects.filter(organization=org, user=person.user).exists()
    idp.add_person("00u-lena", f"lena@{DOMAIN}")
    idp.login_as("00u-lena")
    refused = sign_in_with_sso(Client(), idp, f"lena@{DOMAIN}")
    assert refused.status_code == 403
    assert not Membership.objects.filter(organization=org, user=person.user).exists()
    assert "deprovisioned" in AuditEvent.objects.get(action="sso.sign_in_failed").metadata["reason"]
