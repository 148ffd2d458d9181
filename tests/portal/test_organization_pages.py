"""Organizations on pages: onboarding, invitations by signed link, members and roles,
switching the current organization. Bad input is a readable message and changes nothing."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from audit.models import AuditEvent
from portal.models import Invitation, Membership, Organization, Role
from tests.factories import PASSWORD, MembershipFactory, UserFactory
from tests.fixtures import signed_in


def _client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_a_new_user_is_sent_to_onboarding_and_creates_an_organization(db):
    user = UserFactory()
    client = _client_for(user)
    assert client.get("/")["Location"] == "/welcome/"
    response = client.post("/welcome/", {"name": "Initech"})
    assert response.status_code == 302
    org = Organization.objects.get(name="Initech")
    assert Membership.objects.get(organization=org, user=user).role == Role.OWNER
    home = client.get("/")
    assert home.status_code == 200 and "Initech" in home.content.decode()
    assert AuditEvent.objects.for_org(org).filter(action="organization.created").exists()


def test_a_blank_organization_name_is_refused(db):
    client = _client_for(UserFactory())
    response = client.post("/welcome/", {"name": "   "})
    assert response.status_code == 200 and "This field is required" in response.content.decode()
    assert not Organization.objects.exists()


def _invite(client, email: str, role: str = "member"):
    return client.post("/members/", {"email": email, "role": role})


def _link_from_outbox() -> str:
    return re.search(r"https?://\S+/invitations/(\S+)/", mail.outbox[-1].body).group(0)


def test_an_invitee_accepts_by_signed_link_and_joins_with_the_role(org, owner):
    assert _invite(signed_in(owner), "new@example.test", "admin").status_code == 302
    assert mail.outbox[-1].to == ["new@example.test"]
    path = _link_from_outbox().split("testserver", 1)[-1]
    invitee = UserFactory(email="new@example.test")
    client = _client_for(invitee)
    page = client.get(path)
    assert page.status_code == 200 and org.name in page.content.decode()
    response = client.post(path, {"decision": "accept"})
    assert response.status_code == 302
    assert Membership.objects.get(organization=org, user=invitee).role == Role.ADMIN
    assert client.get("/").status_code == 200  # the session switched to the new organization
    # The link is single-use.
    again = client.post(path, {"decision": "accept"})
    assert again.status_code == 409 and "already accepted" in again.content.decode()


def test_declining_leaves_no_membership(org, owner):
    _invite(signed_in(owner), "no@example.test")
    path = _link_from_outbox().split("testserver", 1)[-1]
    invitee = UserFactory(email="no@example.test")
    _client_for(invitee).post(path, {"decision": "decline"})
    assert not Membership.objects.filter(user=invitee).exists()
    assert Invitation.objects.get(email="no@example.test").status == Invitation.Status.DECLINED


def test_a_link_opened_by_someone_else_is_refused(org, owner):
    _invite(signed_in(owner), "right@example.test")
    path = _link_from_outbox().split("testserver", 1)[-1]
    intruder = UserFactory(email="wrong@example.test")
    response = _client_for(intruder).post(path, {"decision": "accept"})
    assert response.status_code == 403
    assert "sent to right@example.test" in response.content.decode()
    assert not Membership.objects.filter(user=intruder).exists()


def test_expired_revoked_and_tampered_links_are_refused(org, owner):
    client = signed_in(owner)
    _invite(client, "late@example.test")
    path = _link_from_outbox().split("testserver", 1)[-1]
    invitee = UserFactory(email="late@example.test")
    Invitation.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    expired = _client_for(invitee).post(path, {"decision": "accept"})
    assert expired.status_code == 409 and "expired" in expired.content.decode()

    _invite(client, "gone@example.test")  # an expired invitation makes room for a new one
    invitation = Invitation.objects.get(email="gone@example.test")
    path = _link_from_outbox().split("testserver", 1)[-1]
    assert client.post(f"/invitations/{invitation.pk}/revoke/").status_code == 302
    revoked = _client_for(UserFactory(email="gone@example.test")).post(path, {"decision": "accept"})
    assert revoked.status_code == 409 and "revoked" in revoked.content.decode()

    tampered = _client_for(invitee).get(path[:-3] + "xx/")
    assert tampered.status_code == 404 and "not valid" in tampered.content.decode()
    assert not Membership.objects.filter(user__email__in=["late@example.test", "gone@example.test"])


@pytest.mark.parametrize("role", [Role.MEMBER, Role.AUDITOR])
def test_members_and_auditors_cannot_manage_members(org, owner, role):
    actor = MembershipFactory(organization=org, role=role)
    client = signed_in(actor)
    response = _invite(client, "x@example.test")
    assert response.status_code == 302 and not Invitation.objects.exists()
    assert "Only owners and admins" in client.get("/members/").content.decode()
    client.post(f"/members/{owner.pk}/role/", {"role": "member"})
    client.post(f"/members/{owner.pk}/remove/")
    owner.refresh_from_db()
    assert owner.role == Role.OWNER


def test_admins_change_roles_and_remove_members_but_cannot_make_owners(org, owner, admin, member):
    client = signed_in(admin)
    client.post(f"/members/{member.pk}/role/", {"role": "auditor"})
    member.refresh_from_db()
    assert member.role == Role.AUDITOR
    page = client.post(f"/members/{member.pk}/role/", {"role": "owner"}, follow=True)
    assert "Only owners can make someone an owner" in page.content.decode()
    member.refresh_from_db()
    assert member.role == Role.AUDITOR
    bad = client.post(f"/members/{member.pk}/role/", {"role": "emperor"}, follow=True)
    assert "Unknown role" in bad.content.decode()
    client.post(f"/members/{member.pk}/remove/")
    assert not Membership.objects.filter(pk=member.pk).exists()
    actions = set(AuditEvent.objects.for_org(org).values_list("action", flat=True))
    assert {"member.role_changed", "member.removed"} <= actions


def test_the_last_owner_can_be_neither_demoted_nor_removed(org, owner):
    client = signed_in(owner)
    page = client.post(f"/members/{owner.pk}/role/", {"role": "admin"}, follow=True)
    assert "at least one owner" in page.content.decode()
    page = client.post(f"/members/{owner.pk}/remove/", follow=True)
    assert "at least one owner" in page.content.decode()
    owner.refresh_from_db()
    assert owner.role == Role.OWNER


def test_a_member_id_of_another_organization_is_a_404(org, owner, other_owner):
    client = signed_in(owner)
    assert client.post(f"/members/{other_owner.pk}/role/", {"role": "member"}).status_code == 404
    assert client.post(f"/members/{other_owner.pk}/remove/").status_code == 404


def test_switching_organizations_from_the_header(org, owner, other_org):
    MembershipFactory(organization=other_org, user=owner.user, role=Role.MEMBER)
    client = signed_in(owner)
    assert "Globex" in client.get("/").content.decode()  # listed in the switcher
    response = client.post(f"/orgs/{other_org.slug}/switch/", {"next": "/members/"})
    assert response["Location"] == "/members/"
    assert client.get("/").context["request"].organization == other_org
    outsider_org = Organization.objects.create(name="Hooli", slug="hooli")
    assert client.post(f"/orgs/{outsider_org.slug}/switch/").status_code == 404
    # An off-site `next` is ignored.
    away = client.post(f"/orgs/{org.slug}/switch/", {"next": "https://evil.test/"})
    assert away["Location"] == "/"


def test_the_login_password_from_factories_works(org, owner):
    client = Client()
    assert client.login(email=owner.user.email, password=PASSWORD)


def test_a_duplicate_invitation_or_a_current_member_is_refused_readably(org, owner, member):
    client = signed_in(owner)
    assert _invite(client, "twice@example.test").status_code == 302
    again = client.post("/members/", {"email": "twice@example.test", "role": "member"}, follow=True)
    assert "already has a pending invitation" in again.content.decode()
    assert Invitation.objects.filter(email="twice@example.test").count() == 1
    assert len(mail.outbox) == 1

    existing = client.post("/members/", {"email": member.user.email, "role": "admin"}, follow=True)
    assert "is already a member" in existing.content.decode()
    assert not Invitation.objects.filter(email=member.user.email).exists()
    assert Membership.objects.get(pk=member.pk).role == Role.MEMBER
