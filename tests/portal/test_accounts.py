"""Accounts with django-allauth: email login, verification, password reset, MFA pages,
login rate limits, and account events in the audit trail."""

from __future__ import annotations

import re
from io import StringIO

import pytest
from django.core import mail
from django.core.management import CommandError, call_command
from django.test import Client
from rest_framework.test import APIClient

from audit.models import AuditEvent
from portal.models import Membership, Organization, User
from tests.factories import PASSWORD, MembershipFactory, UserFactory

NEW_PASSWORD = "a-much-longer-pass-phrase-42"


def _link(pattern: str) -> str:
    return re.search(pattern, mail.outbox[-1].body).group(0).split("testserver", 1)[-1]


def test_sign_up_needs_email_verification_then_lands_on_onboarding(db):
    client = Client()
    form = client.get("/accounts/signup/").content.decode()
    assert 'name="email"' in form and 'name="username"' not in form
    assert 'class="brand"' in form  # allauth pages wear the portal's layout
    response = client.post(
        "/accounts/signup/",
        {"email": "Ada@Example.test", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )
    assert response.status_code == 302
    user = User.objects.get(email__iexact="ada@example.test")
    assert "confirm" in mail.outbox[-1].subject.lower()
    # Unverified: signing in is held at the verification step.
    blocked = Client().post(
        "/accounts/login/", {"login": "ada@example.test", "password": NEW_PASSWORD}
    )
    assert blocked.status_code == 302 and "confirm-email" in blocked["Location"]
    assert "_auth_user_id" not in blocked.client.session

    confirm = _link(r"https?://\S+/accounts/confirm-email/\S+/")
    client.post(confirm)  # the browser that signed up is signed in on confirmation
    assert client.session.get("_auth_user_id") == str(user.pk)
    assert client.get("/")["Location"] == "/welcome/"
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"account.signed_up", "account.signed_in"} <= actions


def test_password_reset_by_email(db):
    user = UserFactory(email="forgot@example.test")
    client = Client()
    client.post("/accounts/password/reset/", {"email": "forgot@example.test"})
    path = _link(r"https?://\S+/accounts/password/reset/key/\S+/")
    form_page = client.get(path, follow=True)
    action = form_page.redirect_chain[-1][0] if form_page.redirect_chain else path
    done = client.post(action, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    assert done.status_code == 302
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    assert AuditEvent.objects.filter(action="account.password_reset").exists()


def test_failed_sign_ins_are_audited_then_rate_limited(db):
    user = UserFactory(email="target@example.test")
    client = Client()
    for _ in range(5):  # 5 failures per 5 minutes per account
        client.post("/accounts/login/", {"login": "target@example.test", "password": "wrong"})
    limited = client.post(
        "/accounts/login/", {"login": "target@example.test", "password": PASSWORD}
    )
    assert "Too many failed login attempts" in limited.content.decode()
    assert "_auth_user_id" not in client.session  # even the right password waits
    failed = AuditEvent.objects.filter(action="account.sign_in_failed")
    assert failed.count() >= 5 and failed.first().outcome == "failure"
    assert PASSWORD not in str(list(failed.values("metadata")))
    assert user.email in str(list(failed.values_list("target_id", flat=True)))


def test_a_sign_in_is_recorded_in_each_of_the_users_organizations(org, other_org):
    user = UserFactory()
    MembershipFactory(organization=org, user=user)
    MembershipFactory(organization=other_org, user=user)
    Client().post("/accounts/login/", {"login": user.email, "password": PASSWORD})
    for organization in (org, other_org):
        assert AuditEvent.objects.for_org(organization).filter(action="member.signed_in").exists()


def test_the_two_factor_pages_render_in_the_portal_layout(org, owner):
    client = Client()
    client.force_login(owner.user)
    for path in ("/accounts/2fa/", "/accounts/2fa/totp/activate/"):
        response = client.get(path, follow=True)
        html = response.content.decode()
        assert response.status_code == 200, path
        assert 'class="brand"' in html and "Agent Portal" in html


# --- bootstrap_org --------------------------------------------------------------------


def _bootstrap(*args: str) -> list[str]:
    out = StringIO()
    call_command("bootstrap_org", *args, stdout=out)
    return out.getvalue().strip().splitlines()


def test_bootstrap_org_creates_then_reuses_and_mints_a_working_key(db):
    lines = _bootstrap("--name", "Acme", "--owner-email", "Owner@Acme.test", "--password", "pw-1")
    assert lines[0].startswith("Created organization Acme")
    assert Client().login(email="owner@acme.test", password="pw-1")

    lines = _bootstrap("--name", "Acme", "--owner-email", "owner@acme.test", "--api-key")
    assert lines[0].startswith("Reusing organization Acme")
    key = lines[-1]
    assert re.fullmatch(r"ap_[A-Za-z0-9]{8}_\S+", key)
    assert Organization.objects.count() == 1 and User.objects.count() == 1
    assert Membership.objects.get().role == "owner"
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    assert api.get("/api/v1/organization").json()["name"] == "Acme"


@pytest.mark.parametrize(
    "args",
    [
        ("--name", "Acme", "--owner-email", "not-an-email"),
        ("--name", " ", "--owner-email", "a@b.test"),
    ],
)
def test_bootstrap_org_refuses_bad_input_and_changes_nothing(db, args):
    with pytest.raises(CommandError):
        _bootstrap(*args)
    assert not Organization.objects.exists() and not User.objects.exists()


def test_a_superuser_made_on_the_command_line_can_sign_in(db, client, settings):
    from io import StringIO

    from django.core.management import call_command

    settings.ACCOUNT_EMAIL_VERIFICATION = "mandatory"
    call_command("createsuperuser", "--no-input", "--email", "ops@example.test", stdout=StringIO())
    from portal.models import User

    user = User.objects.get(email="ops@example.test")
    user.set_password("an-operator-pass-phrase-1")
    user.save()
    response = client.post(
        "/accounts/login/",
        {"login": "ops@example.test", "password": "an-operator-pass-phrase-1"},
    )
    assert response.status_code == 302 and "confirm-email" not in response["Location"]
