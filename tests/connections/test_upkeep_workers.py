"""Token upkeep on real worker processes and the Redis broker: two workers, each with its
own scheduler, refresh every due account exactly once; a worker killed while the provider
rotates a refresh token leaves an honest account behind. See tests/worker_support.py."""

from __future__ import annotations

import threading

import pytest

from audit.models import AuditEvent
from connections.models import AccountStatus, ConnectedAccount
from tests.provider_support import seed_accounts
from tests.worker_support import wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def test_two_schedulers_and_two_workers_refresh_each_due_account_once(workers, org, provider_world):
    github = provider_world("github", connect=False)
    count = 200
    accounts = seed_accounts(org, github.connection, github.emulator, count, expires_in=120)
    github.emulator.token_delay = 0.2
    ids = [str(a.pk) for a in accounts]

    workers.start(2, beat=True, TOKEN_REFRESH_EVERY_SECONDS="1")
    # A third and fourth scheduler, and the same batch queued twice, for good measure.
    workers.send("connections.tasks.refresh_due_tokens")
    workers.send("connections.tasks.refresh_due_tokens")
    workers.send("connections.tasks.refresh_accounts", ids[:50])
    workers.send("connections.tasks.refresh_accounts", ids[:50])

    refreshed = ConnectedAccount.objects.filter(last_refreshed_at__isnull=False)
    wait_for(lambda: refreshed.count() == count, timeout=60, step=0.25)
    # Let any duplicate that would still come arrive: two more sweeps.
    wait_for(lambda: github.emulator.refresh_count >= count, timeout=5)
    threading.Event().wait(2.5)

    assert github.emulator.refresh_count == count
    assert github.emulator.reuse_detected == 0
    assert ConnectedAccount.objects.filter(status=AccountStatus.ACTIVE).count() == count


@pytest.mark.parametrize(
    ("provider", "status", "says"),
    [
        # GitHub rotates with no grace: the old refresh token is refused, the family dies.
        ("github", AccountStatus.EXPIRED, "rotation was lost"),
        # Atlassian keeps the previous pair valid for 10 minutes: the retry inside the
        # grace recovers the account.
        ("jira", AccountStatus.ACTIVE, ""),
    ],
)
def test_a_worker_killed_while_the_provider_rotates(
    workers, org, provider_world, settings, provider, status, says
):
    settings.PROVIDER_TOKEN_TIMEOUT_SECONDS = 4
    world = provider_world(provider, connect=False)
    (account,) = seed_accounts(org, world.connection, world.emulator, 1, expires_in=30)
    asked = threading.Event()
    world.emulator.before_request = lambda method, path: (
        method == "POST" and ("token" in path and asked.set())
    )
    world.emulator.slow_next_token_requests(1, 2.0)  # rotates 2 s after being asked

    (first,) = workers.start(1)
    workers.send("connections.tasks.refresh_accounts", [str(account.pk)])
    wait_for(asked.is_set, timeout=30)
    first.kill()
    wait_for(lambda: world.emulator.refresh_count == 1, timeout=10)  # rotated, never stored

    workers.start(1)
    workers.send("connections.tasks.refresh_accounts", [str(account.pk)])
    after = wait_for(
        lambda: (
            row
            if (row := ConnectedAccount.objects.get(pk=account.pk)).status != AccountStatus.ACTIVE
            or row.last_refreshed_at
            else None
        ),
        timeout=30,
    )

    assert after.status == status, after.status_reason
    assert says in after.status_reason
    assert after.refresh_claimed_by == ""
    unknown = AuditEvent.objects.get(action="connected_account.refresh_outcome_unknown")
    assert "stopped" in unknown.metadata["reason"]
    if status == AccountStatus.ACTIVE:
        assert world.emulator.reuse_detected == 0
        refreshed = AuditEvent.objects.get(action="connected_account.refreshed")
        assert refreshed.metadata.get("after_unknown_outcome") is True
    else:
        assert world.emulator.reuse_detected == 1
