"""The audit log at scale (run on PostgreSQL: DATABASE_URL=postgres://…).

1,000,000 events in one organization and 100,000 in another (written with COPY;
the hashes are synthetic, chain verification is not what this measures). Medians of:
the audit API's first page vs a page 10,000 events deep, the same for the HTML page
(targets: each ≤ 50 ms and within 2× of each other: keyset pages cost the same at any
depth); CSV export throughput and the process's peak RSS after exporting 100,000, then
1,000,000 events (must stay flat); then the dashboard home with 10,000 connected
accounts (bench/dashboard_home.py, target ≤ 200 ms) in the same run.
"""

from __future__ import annotations

import base64
import os
import resource
import time
from datetime import timedelta

from bench.common import bench_database, database_vendor, median_ms, p95_ms, timed

BIG = int(os.environ.get("BENCH_EVENTS", "1000000"))
SMALL = int(os.environ.get("BENCH_EVENTS_SMALL", "100000"))
DEPTH = 10_000
N = int(os.environ.get("BENCH_N", "100"))
ACTIONS = ["tool.executed"] * 8 + ["agent_run.started", "agent_run.finished"]


def copy_events(org, count: int) -> float:
    """COPY `count` events into org's chain; returns seconds taken."""
    from django.db import connection
    from django.utils import timezone

    started = time.perf_counter()
    now = timezone.now()
    columns = (
        "organization_id, chain, seq, created_at, actor_type, actor_id, actor_label, identifier, "
        "action, target_type, target_id, outcome, metadata, request_id, user_agent, prev_hash, hash"
    )
    with connection.cursor() as cursor:
        raw = cursor.cursor  # psycopg 3
        with raw.copy(f"COPY connections_auditevent ({columns}) FROM STDIN") as copy:
            for i in range(1, count + 1):
                copy.write_row(
                    (
                        org.pk,
                        f"org-{org.pk}",
                        i,
                        now - timedelta(seconds=(count - i) * 2),
                        "user",
                        str(i % 500),
                        f"user{i % 500}@scale.test",
                        f"user_{i % 5000:05d}",
                        ACTIONS[i % len(ACTIONS)],
                        "tool",
                        "monday_create_item",
                        "success" if i % 25 else "failure",
                        '{"connection": "monday", "params": {"board_id": "1001"}}',
                        "",
                        "bench",
                        f"{i - 1:064x}",
                        f"{i:064x}",
                    )
                )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE connections_auditevent")
    from audit.models import AuditChain

    AuditChain.objects.update_or_create(
        key=f"org-{org.pk}", defaults={"last_seq": count, "last_hash": f"{count:064x}"}
    )
    return time.perf_counter() - started


def drf_cursor(position: int) -> str:
    # DRF's cursor format: base64 of the query string "p=<position>".
    return base64.b64encode(f"p={position}".encode()).decode()


def export_run(org, owner) -> tuple[int, float, float]:
    """(rows, seconds, process peak RSS in MiB after the export) of a full CSV export.

    Peak RSS is the process high-water mark: exporting 1,000,000 events after
    100,000 must not raise it if the export streams (tracemalloc would slow it 10×)."""
    from audit import review, selectors
    from portal.callers import Caller

    events = selectors.visible_events(caller=Caller.of_member(owner))
    started = time.perf_counter()
    rows = sum(chunk.count("\n") for chunk in review.export_csv(events)) - 1
    seconds = time.perf_counter() - started
    return rows, seconds, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    with bench_database():
        from django.test import Client
        from rest_framework.test import APIClient

        from audit.models import AuditEvent
        from portal.apikeys import mint_api_key
        from portal.callers import Caller
        from portal.organizations import bootstrap_organization

        big, big_owner, _ = bootstrap_organization(name="Big", owner_email="owner@big.test")
        small, small_owner, _ = bootstrap_organization(name="Small", owner_email="o@small.test")
        AuditEvent.objects.all().delete()  # bootstrap's own events: keep the chains simple
        seconds_big = copy_events(big, BIG)
        seconds_small = copy_events(small, SMALL)
        print(f"database: {database_vendor()}")
        print(
            f"inserted {BIG:,} events in {seconds_big:.1f} s and {SMALL:,} in "
            f"{seconds_small:.1f} s (COPY)"
        )

        _, key = mint_api_key(caller=Caller.of_member(big_owner), name="bench")
        api = APIClient()
        api.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
        deep_seq = (
            AuditEvent.objects.filter(organization=big)
            .order_by("-seq")
            .values_list("seq", flat=True)[DEPTH]
        )

        def fetch(client, path, params):
            def go():
                response = client.get(path, params)
                assert response.status_code == 200, response.content[:300]

            return go

        api_first, api_deep, api_filtered = timed(
            fetch(api, "/api/v1/audit-events", {}),
            fetch(api, "/api/v1/audit-events", {"cursor": drf_cursor(deep_seq)}),
            fetch(api, "/api/v1/audit-events", {"identifier": "user_01234"}),
            n=N,
        )
        results = {"API first": api_first, "API deep": api_deep, "API filtered": api_filtered}
        browser = Client()
        browser.force_login(big_owner.user)
        session = browser.session
        session["organization_id"] = big.pk
        session.save()
        results["page first"], results["page deep"] = timed(
            fetch(browser, "/audit/", {}), fetch(browser, "/audit/", {"before": deep_seq}), n=N
        )
        print(f"(deep = {DEPTH:,} events down; filtered = one identifier's events)")
        for name, samples in results.items():
            print(f"{name}: median {median_ms(samples):.1f} ms, p95 {p95_ms(samples):.1f} ms")
        for surface in ("API", "page"):
            ratio = median_ms(results[f"{surface} deep"]) / median_ms(results[f"{surface} first"])
            print(f"{surface}: deep / first = {ratio:.2f} (target <= 2, each <= 50 ms)")

        for org, owner in ((small, small_owner), (big, big_owner)):
            rows, seconds, peak = export_run(org, owner)
            print(
                f"CSV export of {rows:,} events: {rows / seconds:,.0f} events/s, "
                f"process peak RSS after it {peak:.0f} MiB"
            )

        from bench import dashboard_home

        dashboard_home.measure()


if __name__ == "__main__":
    main()
