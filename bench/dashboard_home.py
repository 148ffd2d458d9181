"""Dashboard home at scale (run on PostgreSQL: DATABASE_URL=postgres://…).

One organization with 10,000 connected accounts (a few hundred expired or failing
refresh), 100,000 tool executions in its audit log over the last 7 days and 1,000
agent runs. Median time of GET / for an owner (every figure on the page) and for a
member, against a baseline measured in the same run: GET /agents/ (a plain
signed-in page). Target: ≤ 200 ms median for the owner.
"""

from __future__ import annotations

import os
import random
from datetime import timedelta

from bench.common import bench_database, database_vendor, median_ms, p95_ms, timed

ACCOUNTS = int(os.environ.get("BENCH_ACCOUNTS", "10000"))
TOOL_EVENTS = int(os.environ.get("BENCH_TOOL_EVENTS", "100000"))
RUNS = int(os.environ.get("BENCH_RUNS", "1000"))
N = int(os.environ.get("BENCH_N", "100"))
BATCH = 5000


def populate():
    from django.utils import timezone

    from agents.models import Agent, AgentRun, RunStatus
    from audit.models import AuditEvent
    from connections.configuration import create_connection
    from connections.models import AccountStatus, ConnectedAccount
    from portal.models import Membership, Role
    from portal.organizations import bootstrap_organization
    from tests.factories import UserFactory

    org, owner, _ = bootstrap_organization(name="Scale", owner_email="owner@scale.test")
    member = UserFactory(email="member@scale.test")
    Membership.objects.create(organization=org, user=member, role=Role.MEMBER)
    connection = create_connection(org=org, name="monday", provider="monday", client_id="c")
    rng = random.Random(7)
    statuses = (
        [AccountStatus.ACTIVE] * 95 + [AccountStatus.EXPIRED] * 3 + [AccountStatus.DISCONNECTED] * 2
    )
    accounts = [
        ConnectedAccount(
            organization=org,
            connection=connection,
            identifier=f"customer-user-{i}",
            status=rng.choice(statuses),
            refresh_failure_count=1 if i % 97 == 0 else 0,
        )
        for i in range(ACCOUNTS - 1)
    ]
    accounts.append(
        ConnectedAccount(
            organization=org, connection=connection, identifier=member.identifier, user=member
        )
    )
    ConnectedAccount.objects.bulk_create(accounts, batch_size=BATCH)

    now = timezone.now()
    events = (
        AuditEvent(
            organization=org,
            chain=f"bench-{org.pk}",
            seq=i,
            created_at=now - timedelta(seconds=rng.randrange(7 * 24 * 3600)),
            actor_type="user",
            identifier=f"customer-user-{i % ACCOUNTS}",
            action="tool.executed",
            target_type="tool",
            target_id="monday_get_me",
            outcome="success" if i % 20 else "failure",
            hash=f"{i:064x}",  # synthetic: the chain is not what this measures
        )
        for i in range(1, TOOL_EVENTS + 1)
    )
    _bulk(AuditEvent, events)
    agent = Agent.objects.create(organization=org, name="Assistant")
    AgentRun.objects.bulk_create(
        [
            AgentRun(
                organization=org,
                agent=agent,
                identifier=member.identifier if i % 10 == 0 else f"customer-user-{i}",
                user=member if i % 10 == 0 else None,
                prompt=f"prompt {i}",
                status=RunStatus.SUCCEEDED,
            )
            for i in range(RUNS)
        ],
        batch_size=BATCH,
    )
    from django.db import connection as db

    if db.vendor == "postgresql":
        with db.cursor() as cursor:
            cursor.execute("ANALYZE")
    return owner.user, member


def _bulk(model, rows) -> None:
    batch = []
    for row in rows:
        batch.append(row)
        if len(batch) == BATCH:
            model.objects.bulk_create(batch)
            batch = []
    if batch:
        model.objects.bulk_create(batch)


def measure() -> None:
    """Populate and measure inside an existing (benchmark) database."""
    if True:
        from django.test import Client

        owner, member = populate()
        clients = {}
        for name, user in (("owner", owner), ("member", member)):
            client = Client()
            client.force_login(user)
            clients[name] = client

        def get(client, path):
            def fetch():
                response = client.get(path)
                assert response.status_code == 200, response.status_code

            return fetch

        baseline, owner_home, member_home = timed(
            get(clients["owner"], "/agents/"),
            get(clients["owner"], "/"),
            get(clients["member"], "/"),
            n=N,
        )
        print(f"database: {database_vendor()}")
        print(
            f"{ACCOUNTS:,} connected accounts, {TOOL_EVENTS:,} tool executions in 7 days, "
            f"{RUNS:,} runs; N={N}"
        )
        print(f"baseline GET /agents/: median {median_ms(baseline):.1f} ms")
        print(
            f"owner GET / (dashboard): median {median_ms(owner_home):.1f} ms, "
            f"p95 {p95_ms(owner_home):.1f} ms (target <= 200 ms)"
        )
        print(
            f"member GET /: median {median_ms(member_home):.1f} ms, p95 {p95_ms(member_home):.1f} ms"
        )
        print(
            f"ratio owner dashboard / baseline: {median_ms(owner_home) / median_ms(baseline):.2f}"
        )


def main() -> None:
    with bench_database():
        measure()


if __name__ == "__main__":
    main()
