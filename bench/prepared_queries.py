"""Does core/prepared.py still pay for itself? (issue 22; run on PostgreSQL:
DATABASE_URL=postgres://… .venv/bin/python -m bench.prepared_queries)

The two hot lookups it serves — the API key of every request and the accounts of every
tool call — each run as a PreparedQuery and as the plain ORM queryset, interleaved call
by call, in one run. Prints the median of each and the difference per call; the rule
(README "Benchmarks"): keep PreparedQuery only while it saves ≥ 0.5 ms per call.
"""

from __future__ import annotations

import os
import statistics
import time

from bench.common import bench_database, database_vendor

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3000"))


def main() -> None:
    with bench_database():
        from connections.models import ConnectedAccount
        from core.prepared import PreparedQuery
        from portal import apikeys
        from portal.callers import Caller
        from portal.models import ApiKey, Organization
        from portal.organizations import bootstrap_organization
        from tests.factories import ConnectedAccountFactory, ConnectionFactory

        org, owner, _ = bootstrap_organization(name="Bench", owner_email="owner@bench.test")
        connection = ConnectionFactory(organization=org, name="monday")
        for n in range(3):
            ConnectedAccountFactory(connection=connection, identifier=f"customer-{n}")
        key, _ = apikeys.mint_api_key(caller=Caller.of_member(owner), name="bench")
        org = Organization.objects.get(pk=org.pk)

        # The shapes of connections/tools.py's and portal/apikeys.py's lookups.
        def accounts(org, identifier, provider):
            return (
                ConnectedAccount.objects.for_org(org)
                .filter(identifier=identifier, connection__provider=provider)
                .filter(connection__enabled=True)
                .select_related("connection")
                .order_by("connection__name", "-is_default", "-updated_at")[:20]
            )

        def key_by_prefix(prefix):
            return ApiKey.objects.select_related("organization").filter(prefix=prefix)[:1]

        prepared_accounts = PreparedQuery(accounts, org=Organization, identifier=str, provider=str)
        prepared_key = PreparedQuery(key_by_prefix, prefix=str)
        cases = {
            "accounts of a tool call": (
                lambda: prepared_accounts.run(org=org, identifier="customer-1", provider="monday"),
                lambda: list(accounts(org, "customer-1", "monday")),
            ),
            "API key of a request": (
                lambda: prepared_key.run(prefix=key.prefix),
                lambda: list(key_by_prefix(key.prefix)),
            ),
        }
        print(f"database: {database_vendor()}, {ROUNDS} calls each, interleaved")
        for label, (prepared, plain) in cases.items():
            timings: dict[str, list[float]] = {"prepared": [], "orm": []}
            for _ in range(ROUNDS):
                for name, call in (("prepared", prepared), ("orm", plain)):
                    started = time.perf_counter()
                    call()
                    timings[name].append(time.perf_counter() - started)
            fast = statistics.median(timings["prepared"]) * 1000
            slow = statistics.median(timings["orm"]) * 1000
            print(
                f"{label}: prepared {fast:.3f} ms, ORM {slow:.3f} ms, "
                f"saves {slow - fast:.3f} ms per call (ratio {slow / fast:.2f}; keep if ≥ 0.5 ms)"
            )


if __name__ == "__main__":
    main()
