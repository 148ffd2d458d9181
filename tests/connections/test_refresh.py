"""get_access_token and single-flight refresh against the emulator's rotating refresh tokens."""

import threading
from datetime import timedelta

import pytest
from django.db import connections
from django.utils import timezone

from connections import accounts, errors, tokens
from connections.models import AccountStatus, ConnectedAccount
from tests.monday_support import connect_via_portal


@pytest.fixture
def account(member_client, member, monday, monday_connection):
    connect_via_portal(member_client)
    return ConnectedAccount.objects.get(identifier=member.user.identifier)


def tokens_of(account):
    return accounts.token_set(ConnectedAccount.objects.get(pk=account.pk))


def expire(account):
    ConnectedAccount.objects.filter(pk=account.pk).update(
        # An hour-long token, 30 seconds before it expires.
        token_issued_at=timezone.now() - timedelta(hours=1),
        token_expires_at=timezone.now() + timedelta(seconds=30),
    )


def test_a_fresh_token_is_returned_without_calling_the_provider(account, monday):
    before = monday.refresh_count
    assert tokens.get_access_token(account) == tokens_of(account)["access_token"]
    assert monday.refresh_count == before


def test_a_token_within_five_minutes_of_expiry_is_refreshed_and_rotated(account, monday):
    old = tokens_of(account)
    expire(account)

    token = tokens.get_access_token(account)

    new = tokens_of(account)
    assert monday.refresh_count == 1
    assert token == new["access_token"] != old["access_token"]
    assert new["refresh_token"] != old["refresh_token"]
    refreshed = ConnectedAccount.objects.get(pk=account.pk)
    assert refreshed.last_refreshed_at is not None
    assert refreshed.token_expires_at > timezone.now() + timedelta(minutes=30)


def test_a_refresh_without_a_refresh_token_keeps_the_old_one(account, monday):
    monday.omit_refresh_token_on_refresh = True
    old = tokens_of(account)
    expire(account)
    tokens.get_access_token(account)
    assert tokens_of(account)["refresh_token"] == old["refresh_token"]


def test_expiry_comes_from_the_jwt_when_expires_in_is_missing(
    member_client, member, monday, monday_connection
):
    monday.omit_expires_in = True
    connect_via_portal(member_client)
    account = ConnectedAccount.objects.get()
    assert account.token_expires_at is not None
    assert abs((account.token_expires_at - timezone.now()).total_seconds() - 3600) < 60


def test_invalid_grant_marks_the_account_expired_with_a_reason(account, monday):
    monday.revoke_all_for_user(101)
    expire(account)

    with pytest.raises(errors.NeedsReauthorization):
        tokens.get_access_token(account)

    account.refresh_from_db()
    assert account.status == AccountStatus.EXPIRED
    assert "authorize again" in account.status_reason
    assert account.refresh_failure_count == 1


@pytest.mark.parametrize("status", [500, 503])
def test_a_provider_error_leaves_the_account_as_it_was(account, monday, status):
    before = tokens_of(account)
    monday.fail_next_token_requests(1, status=status)
    expire(account)

    with pytest.raises(errors.ProviderUnavailable):
        tokens.get_access_token(account)

    account.refresh_from_db()
    assert account.status == AccountStatus.ACTIVE
    assert tokens_of(account) == before
    assert account.refresh_failure_count == 1 and "HTTP" in account.last_error


def test_a_timeout_is_retryable_and_leaves_the_account_as_it_was(account, monday, settings):
    settings.PROVIDER_TOKEN_TIMEOUT_SECONDS = 0.3
    monday.token_delay = 1.0
    before = tokens_of(account)
    expire(account)

    with pytest.raises(errors.ProviderTimeout) as raised:
        tokens.get_access_token(account)

    assert raised.value.status == 504
    assert tokens_of(account) == before
    assert ConnectedAccount.objects.get(pk=account.pk).status == AccountStatus.ACTIVE


def test_a_rejected_token_is_refreshed_only_if_it_is_still_the_stored_one(account, monday):
    stale = tokens_of(account)["access_token"]
    fresh = tokens.refresh_access_token(account, failed_access_token=stale)
    assert monday.refresh_count == 1
    # A second caller that also saw `stale` fail gets the fresh token, no second refresh.
    assert tokens.refresh_access_token(account, failed_access_token=stale) == fresh
    assert monday.refresh_count == 1


def test_refresh_expiring_tokens_refreshes_due_accounts(account, monday):
    from django.core.management import call_command

    expire(account)
    call_command("refresh_expiring_tokens")
    assert monday.refresh_count == 1


def _concurrently(n, fn):
    results, errors = [], []
    barrier = threading.Barrier(n)

    def worker():
        try:
            barrier.wait()
            results.append(fn())
        except Exception as exc:  # collected and asserted below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results, errors


@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_callers_cause_exactly_one_refresh(
    member_client, member, monday, monday_connection
):
    connect_via_portal(member_client)
    account = ConnectedAccount.objects.get()
    expire(account)
    monday.token_delay = 0.2  # widen the race window

    results, errors = _concurrently(20, lambda: tokens.get_access_token(account))

    assert errors == []
    assert monday.refresh_count == 1
    assert len(results) == 20 and len(set(results)) == 1
    assert results[0] == tokens_of(account)["access_token"]


@pytest.mark.django_db(transaction=True)
def test_twenty_callers_rejected_with_the_same_token_cause_one_refresh(
    member_client, member, monday, monday_connection
):
    connect_via_portal(member_client)
    account = ConnectedAccount.objects.get()
    stale = tokens_of(account)["access_token"]

    results, errors = _concurrently(
        20, lambda: tokens.refresh_access_token(account, failed_access_token=stale)
    )

    assert errors == []
    assert monday.refresh_count == 1 and len(set(results)) == 1
