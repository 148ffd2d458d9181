"""Token upkeep in one process: the proactive sweep, keep-alive, rate limits, and honest
reasons when a refresh's outcome is unknown (a timeout; a process that died holding the
refresh). The same on real worker processes: tests/connections/test_upkeep_workers.py."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from audit.models import AuditEvent
from connections import accounts, errors, tasks, tokens, upkeep
from connections.models import AccountStatus, ConnectedAccount
from connections.oauth_client import refresh
from core.models import PeriodicJob
from tests.provider_support import seed_accounts


def tokens_of(account) -> dict:
    return accounts.token_set(ConnectedAccount.objects.get(pk=account.pk))


def make_due(*accounts_) -> None:
    ConnectedAccount.objects.filter(pk__in=[a.pk for a in accounts_]).update(
        token_issued_at=timezone.now() - timedelta(hours=1),
        token_expires_at=timezone.now() + timedelta(seconds=30),
    )


@pytest.fixture
def github(provider_world):
    return provider_world("github", connect=False)


@pytest.fixture
def jira(provider_world):
    return provider_world("jira", connect=False)


def test_the_sweep_refreshes_due_accounts_once_and_leaves_fresh_ones(org, github):
    due = seed_accounts(org, github.connection, github.emulator, 5, expires_in=60)
    fresh = seed_accounts(
        org, github.connection, github.emulator, 3, expires_in=3600, prefix="fresh"
    )

    result = tasks.refresh_due_tokens()
    again = tasks.refresh_due_tokens()  # a second scheduler, right after

    assert result == {"due": 5, "batches": 1}
    assert again == {"due": 0, "batches": 0}
    assert github.emulator.refresh_count == 5 and github.emulator.reuse_detected == 0
    for account in due:
        assert ConnectedAccount.objects.get(pk=account.pk).last_refreshed_at is not None
    for account in fresh:
        assert ConnectedAccount.objects.get(pk=account.pk).last_refreshed_at is None
    job = PeriodicJob.objects.get(name="refresh_due_tokens")
    assert job.runs == 2 and job.last_outcome == "ok" and job.last_result["due"] == 0


def test_a_batch_queued_twice_refreshes_each_account_once(org, github):
    accounts_ = seed_accounts(org, github.connection, github.emulator, 4)
    ids = [str(a.pk) for a in accounts_]

    first = tasks.refresh_accounts(ids)
    second = tasks.refresh_accounts(ids)

    assert first["refreshed"] == 4 and second == {**second, "refreshed": 0, "current": 4}
    assert github.emulator.refresh_count == 4


def test_a_rate_limited_token_endpoint_defers_the_rest_of_the_batch(org, github):
    accounts_ = seed_accounts(org, github.connection, github.emulator, 3)
    github.emulator.fail_next_token_requests(1, status=429)

    report = upkeep.upkeep([a.pk for a in accounts_])

    # The first 429 stops the batch for this provider: nothing else is sent to it now.
    assert report.deferred and len(report.deferred) == 3 and report.refreshed == 0
    assert github.emulator.refresh_count == 0
    # The task queues the deferred ones again (here, in-process: at once).
    assert tasks.refresh_accounts([str(a.pk) for a in accounts_])["refreshed"] == 3


def test_a_failing_provider_is_retried_with_backoff(org, github):
    (account,) = seed_accounts(org, github.connection, github.emulator, 1)
    github.emulator.fail_next_token_requests(2, status=503)

    result = tasks.refresh_accounts([str(account.pk)])

    assert result["failed"] == 1  # this attempt; its retries ran after it (in-process)
    refreshed = ConnectedAccount.objects.get(pk=account.pk)
    assert refreshed.status == AccountStatus.ACTIVE and refreshed.last_refreshed_at is not None
    assert refreshed.refresh_failure_count == 0 and github.emulator.refresh_count == 1


def test_keep_alive_renews_tokens_that_die_when_unused(org, jira):
    idle, recent = seed_accounts(org, jira.connection, jira.emulator, 2, expires_in=3600)
    ConnectedAccount.objects.filter(pk=idle.pk).update(
        token_issued_at=timezone.now() - timedelta(days=81)  # Jira: keepalive_days 80
    )
    before = tokens_of(idle)

    assert tasks.keep_tokens_alive() == {"idle": 1, "batches": 1}
    assert tasks.keep_tokens_alive() == {"idle": 0, "batches": 0}

    assert jira.emulator.refresh_count == 1
    assert tokens_of(idle)["refresh_token"] != before["refresh_token"]
    assert ConnectedAccount.objects.get(pk=recent.pk).last_refreshed_at is None


def test_a_timed_out_refresh_then_refused_says_a_rotation_was_lost(org, github, settings):
    settings.PROVIDER_TOKEN_TIMEOUT_SECONDS = 0.3
    (account,) = seed_accounts(org, github.connection, github.emulator, 1)
    # The provider rotates after 1 s: the portal has given up by then.
    github.emulator.slow_next_token_requests(1, 1.0)

    with pytest.raises(errors.ProviderTimeout):
        tokens.get_access_token(account)
    unknown = ConnectedAccount.objects.get(pk=account.pk)
    assert unknown.status == AccountStatus.ACTIVE and unknown.refresh_outcome_unknown_at
    assert AuditEvent.objects.filter(action="connected_account.refresh_outcome_unknown").exists()

    wait_until_rotated(github.emulator)
    with pytest.raises(errors.NeedsReauthorization):
        tokens.get_access_token(account)

    expired = ConnectedAccount.objects.get(pk=account.pk)
    assert expired.status == AccountStatus.EXPIRED
    assert "rotation was lost" in expired.status_reason
    assert "refused the refresh" not in expired.status_reason


def test_an_ordinary_refusal_still_says_authorize_again(org, github):
    (account,) = seed_accounts(org, github.connection, github.emulator, 1)
    github.emulator.revoke_all_for_user("seed-0")

    with pytest.raises(errors.NeedsReauthorization):
        tokens.get_access_token(account)

    reason = ConnectedAccount.objects.get(pk=account.pk).status_reason
    assert "refused the refresh" in reason and "rotation" not in reason


def test_inside_the_reuse_grace_a_timed_out_refresh_is_retried_at_once(org, jira, settings):
    settings.PROVIDER_TOKEN_TIMEOUT_SECONDS = 0.3
    (account,) = seed_accounts(org, jira.connection, jira.emulator, 1)
    before = tokens_of(account)
    jira.emulator.slow_next_token_requests(1, 1.0)

    token = tokens.get_access_token(account)

    wait_until_rotated(jira.emulator, count=2)
    after = ConnectedAccount.objects.get(pk=account.pk)
    assert after.status == AccountStatus.ACTIVE and after.refresh_outcome_unknown_at is None
    assert token == tokens_of(account)["access_token"] != before["access_token"]
    assert jira.emulator.reuse_detected == 0


def test_a_process_that_died_holding_the_refresh_is_noticed(org, github, settings):
    """The state a SIGKILLed process leaves: its claim, and the provider's rotation it never
    stored. (With real processes: test_upkeep_workers.py.)"""
    settings.PROVIDER_TOKEN_TIMEOUT_SECONDS = 1
    (account,) = seed_accounts(org, github.connection, github.emulator, 1)
    # The rotation the dead process caused, its answer lost with it:
    refresh(github.connection.oauth_config(), refresh_token=tokens_of(account)["refresh_token"])
    ConnectedAccount.objects.filter(pk=account.pk).update(
        # Not renewed for longer than a hold lasts (core/holds.py): its holder is gone.
        refresh_claimed_at=timezone.now() - timedelta(seconds=10),
        refresh_claimed_by="dead:1",
    )
    make_due(account)

    with pytest.raises(errors.NeedsReauthorization):
        tokens.get_access_token(account)

    expired = ConnectedAccount.objects.get(pk=account.pk)
    assert "rotation was lost" in expired.status_reason
    assert expired.refresh_claimed_by == ""
    unknown = AuditEvent.objects.get(action="connected_account.refresh_outcome_unknown")
    assert "stopped" in unknown.metadata["reason"]


@pytest.mark.django_db(transaction=True)
def test_a_live_claim_makes_callers_wait_for_its_answer(org, github):
    (account,) = seed_accounts(org, github.connection, github.emulator, 1)
    ConnectedAccount.objects.filter(pk=account.pk).update(
        refresh_claimed_at=timezone.now(), refresh_claimed_by="peer:1"
    )
    make_due(account)

    def peer_stores_its_answer():
        time.sleep(0.3)
        ConnectedAccount.objects.filter(pk=account.pk).update(
            token_expires_at=timezone.now() + timedelta(hours=1),
            refresh_claimed_at=None,
            refresh_claimed_by="",
        )
        connection.close()

    peer = threading.Thread(target=peer_stores_its_answer)
    started = time.monotonic()
    peer.start()
    token = tokens.refresh_access_token(account)
    peer.join()

    # It waited for the peer, took the peer's token, and never called the provider.
    assert time.monotonic() - started >= 0.3
    assert token == tokens_of(account)["access_token"]
    assert github.emulator.refresh_count == 0


def wait_until_rotated(emulator, count: int = 1) -> None:
    from tests.worker_support import wait_for

    wait_for(lambda: emulator.refresh_count >= count, timeout=5, step=0.05)


def test_the_due_scan_walks_organizations_a_page_at_a_time(org, github):
    """Each page is one bounded query over some organizations (connections/upkeep.py):
    walked to the end, the pages hold every due account once, each organization's
    soonest first, and organizations with none due are walked past."""
    from connections.configuration import create_connection
    from tests.factories import OrganizationFactory

    due_here = seed_accounts(org, github.connection, github.emulator, 3, expires_in=60)
    make_due(due_here[0])  # 30 s left: the soonest
    seed_accounts(org, github.connection, github.emulator, 2, expires_in=3600, prefix="fresh")
    others = []
    for n in range(4):
        other = OrganizationFactory()
        connection_ = create_connection(
            org=other, name="github", provider="github", client_id=f"c{n}"
        )
        if n % 2:  # every other organization has one due account
            others += seed_accounts(other, connection_, github.emulator, 1, prefix=f"o{n}")

    pages, after = [], 0
    while after is not None:
        page = upkeep.due_page(after=after, organizations=2)
        pages.append(page.account_ids)
        after = page.next_after

    found = [pk for page in pages for pk in page]
    assert sorted(map(str, found)) == sorted(str(a.pk) for a in due_here + others)
    assert len(pages) >= 3  # five organizations, two a page
    mine = [pk for pk in found if pk in {a.pk for a in due_here}]
    assert mine[0] == due_here[0].pk
    assert upkeep.due_account_ids() == found
