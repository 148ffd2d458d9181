"""Deleting a connection revokes its accounts' tokens at the provider before erasing them,
like disconnect does; a revocation that fails is audited and never blocks the delete."""

from __future__ import annotations

from audit.models import AuditEvent
from connections import accounts
from connections.models import ConnectedAccount, Connection


def test_deleting_a_connection_revokes_every_account_first(org, alice, bob, monday, api):
    held = [accounts.token_set(a)["refresh_token"] for a in ConnectedAccount.objects.all()]
    assert len(held) == 2

    response = api.delete("/api/v1/connections/monday")

    assert response.status_code == 204
    assert set(held) <= set(monday.revocations)
    assert not Connection.objects.exists() and not ConnectedAccount.objects.exists()
    deleted = AuditEvent.objects.get(action="connection.deleted")
    assert deleted.metadata["accounts_revoked"] == 2 and deleted.metadata["revoke_failures"] == 0


def test_a_failed_revocation_is_audited_and_the_delete_goes_on(org, alice, monday, owner_client):
    monday.fail_next_revocations(1)
    response = owner_client.post("/connections/monday/delete/", follow=True)
    assert response.status_code == 200 and b"revocation" in response.content
    assert not Connection.objects.exists()
    failed = AuditEvent.objects.get(action="connected_account.revoke_failed")
    assert failed.outcome == "failure" and "500" in failed.metadata["revoke_error"]
    assert failed.identifier == alice.user.identifier
