"""Pending authorizations expire: tokens held for a verification that never came are
revoked and erased, the account waits for a new authorization, old requests are deleted."""

from __future__ import annotations

import json
from datetime import timedelta

from django.core.management import call_command
from django.utils import timezone

from audit.models import AuditEvent
from connections.models import AccountStatus, AuthorizationRequest, ConnectedAccount
from tests.api.test_connected_accounts_api import complete_in_browser, create_link


def test_an_unverified_authorization_is_revoked_and_erased_when_it_expires(
    api, monday, monday_connection, capsys
):
    complete_in_browser(create_link(api).json()["link"])
    auth_request = AuthorizationRequest.objects.get()
    held = json.loads(auth_request.get_secret("pending_token_set_sealed"))
    AuthorizationRequest.objects.update(expires_at=timezone.now() - timedelta(minutes=1))

    call_command("prune_authorizations")

    auth_request.refresh_from_db()
    assert auth_request.status == "failed" and auth_request.failure_reason == "expired"
    assert auth_request.pending_token_set_sealed == ""
    assert held["refresh_token"] in monday.revocations
    account = ConnectedAccount.objects.get()
    assert account.status == AccountStatus.PENDING_AUTH
    assert AuditEvent.objects.filter(action="oauth.authorization_expired").exists()
    assert "1 expired" in capsys.readouterr().out


def test_requests_that_expired_a_day_ago_are_deleted_and_fresh_ones_kept(api, monday_connection):
    for identifier in ("old", "fresh"):
        create_link(api, identifier=identifier)
    AuthorizationRequest.objects.filter(identifier="old").update(
        expires_at=timezone.now() - timedelta(days=2)
    )
    call_command("prune_authorizations")
    assert list(AuthorizationRequest.objects.values_list("identifier", flat=True)) == ["fresh"]
