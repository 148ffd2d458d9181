"""DESIGN §12 rule 18: a portal user's identifier is bound only through a callback that
the signed-in user it names completes; only API keys may name a `user_verify_url`.

The review bound a member's identifier to someone else's monday account with an API
key and `user_verify_url`, and sent a colleague's browser to an outside site with a
session-minted link. Both are refused here, with the variants: other signed-in members,
anonymous browsers, forged old requests, removed members, the verify endpoint.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from connections.models import AccountStatus, AuthorizationRequest, ConnectedAccount
from tests.factories import MembershipFactory
from tests.fixtures import signed_in
from tests.monday_support import MONDAY_BOB, callback_path, follow_to_provider

VERIFY_URL = "https://attacker.example/landing"


def link_for(api, identifier: str, **extra) -> APIClient:
    body = {"connection_name": "monday", "identifier": identifier} | extra
    return api.post("/api/v1/connected-accounts/authorization-link", body, format="json")


def finish(browser: Client, link: str, monday_user: int | None = None):
    start = browser.get(link.removeprefix("http://testserver"))
    assert start.status_code == 302
    return browser.get(callback_path(follow_to_provider(start["Location"], monday_user)))


def test_an_api_key_cannot_name_a_verify_url_for_a_portal_user(api, member, monday_connection):
    response = link_for(api, member.user.identifier, user_verify_url=VERIFY_URL)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "portal_identifier"
    assert not AuthorizationRequest.objects.exists()


@pytest.mark.parametrize("who", ["anonymous", "another member", "the owner"])
def test_only_the_named_member_signed_in_can_complete_a_key_minted_link(
    api, member, owner, monday, monday_connection, who
):
    link = link_for(api, member.user.identifier).json()["link"]
    browser = {
        "anonymous": Client(),
        "another member": signed_in(MembershipFactory(organization=member.organization)),
        "the owner": signed_in(owner),
    }[who]
    response = finish(browser, link, MONDAY_BOB)
    assert response.status_code == 400 and b"another user" in response.content
    assert monday.token_requests == []  # the code was never exchanged
    account = ConnectedAccount.objects.get(identifier=member.user.identifier)
    assert account.status != AccountStatus.ACTIVE and account.token_set_sealed == ""


def test_the_named_member_completes_it_and_returns_to_the_portal(
    api, member, member_client, monday, monday_connection
):
    link = link_for(api, member.user.identifier).json()["link"]
    response = finish(member_client, link)
    assert response.status_code == 302 and response["Location"] == "/connected-accounts/"
    assert ConnectedAccount.objects.get(identifier=member.user.identifier).status == "ACTIVE"


def test_a_forged_request_with_a_verify_url_for_a_portal_user_never_goes_to_verification(
    api, member, monday, monday_connection
):
    link = link_for(api, member.user.identifier).json()["link"]
    # As if written before the rule: a portal identifier with a customer verify URL.
    AuthorizationRequest.objects.update(user_verify_url=VERIFY_URL)
    response = finish(Client(), link, MONDAY_BOB)
    assert response.status_code == 400 and "attacker" not in response.get("Location", "")
    assert monday.token_requests == []
    auth_request = AuthorizationRequest.objects.get()
    body = {"auth_request_id": str(auth_request.pk), "identifier": member.user.identifier}
    assert api.post("/api/v1/connected-accounts/verify", body, format="json").status_code in (
        403,
        409,
    )
    assert ConnectedAccount.objects.get(identifier=member.user.identifier).status != "ACTIVE"


def test_verify_refuses_a_portal_identifier_even_when_awaiting(api, member, monday_connection):
    account = ConnectedAccount.objects.create(
        organization=member.organization,
        connection=monday_connection,
        identifier=member.user.identifier,
    )
    auth_request = AuthorizationRequest.objects.create(
        organization=member.organization,
        connection=monday_connection,
        account=account,
        identifier=member.user.identifier,
        state="s" * 40,
        provider="monday",
        authorization_url="https://auth.monday.com/x",
        redirect_uri="http://testserver/oauth/callback/monday/",
        user_verify_url=VERIFY_URL,
        status=AuthorizationRequest.Status.AWAITING_VERIFICATION,
        expires_at=timezone.now() + timedelta(minutes=5),
    )
    body = {"auth_request_id": str(auth_request.pk), "identifier": member.user.identifier}
    response = api.post("/api/v1/connected-accounts/verify", body, format="json")
    assert response.status_code == 403
    account.refresh_from_db()
    assert account.status == AccountStatus.PENDING_AUTH


def test_a_session_caller_cannot_name_a_verify_url(member_client, monday_connection):
    response = member_client.post(
        "/api/v1/connected-accounts/authorization-link",
        {"connection_name": "monday", "user_verify_url": VERIFY_URL},
        content_type="application/json",
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "user_verify_url_not_allowed"
    assert not AuthorizationRequest.objects.exists()


def test_a_session_link_is_the_portal_flow_for_the_caller_only(
    member_client, member, monday, monday_connection
):
    response = member_client.post(
        "/api/v1/connected-accounts/authorization-link",
        {"connection_name": "monday"},
        content_type="application/json",
    )
    assert response.status_code == 201
    auth_request = AuthorizationRequest.objects.get()
    assert auth_request.flow == "portal" and auth_request.user_verify_url == ""
    assert auth_request.identifier == member.user.identifier
    # Sent to a colleague, it does nothing for them.
    colleague = signed_in(MembershipFactory(organization=member.organization))
    assert finish(colleague, response.json()["link"], MONDAY_BOB).status_code == 400


def test_api_keys_cannot_act_as_someone_who_is_not_a_member(api, org, monday_connection):
    stranger = MembershipFactory()  # a portal user of another organization
    identifier = stranger.user.identifier
    assert link_for(api, identifier).status_code == 404
    tools = api.get(f"/api/v1/tools?identifier={identifier}")
    assert tools.status_code == 404 and tools.json()["error"]["code"] == "identifier_not_member"
    assert not ConnectedAccount.objects.exists()
