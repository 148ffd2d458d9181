"""The portal at scale (issue 28; PostgreSQL only: DATABASE_URL=postgres://…).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python -m bench.scale

Generates, with COPY: BENCH_ORGS organizations (10,000), each with a monday connection;
BENCH_ACCOUNTS connected accounts (1,000,000) spread over them, 1% due for a refresh;
BENCH_EVENTS audit events (10,000,000): 1,000,000 in one large organization (the one
measured), the rest spread over the others. Then p50 / p95 (BENCH_N calls each,
interleaved with a `SELECT 1` baseline measured in the same run) of:

* the due-for-refresh scan: a page of it (connections/upkeep.due_page: 1,000
  organizations from a random place); the whole walk over every organization is
  reported too (it is many pages, queued as it goes: connections/tasks.py);
* a member's tool list (connections/tools.list_tools);
* a tool execute's database work: the account lookup, the audit event, the usage row;
* the dashboard (GET / as the large organization's owner);
* the audit API's first page and a page 10,000 events deep;
* the connected-accounts API filtered by identifier.

Goals: ≤ 20 ms p95 each, the dashboard ≤ 100 ms. Prints the plans of the scans, and
every organization-owned table's indexes that do not lead with the organization.
"""

from __future__ import annotations

import json
import os
import random
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from bench.common import bench_database, database_vendor, timed

ORGS = int(os.environ.get("BENCH_ORGS", "10000"))
ACCOUNTS = int(os.environ.get("BENCH_ACCOUNTS", "1000000"))
EVENTS = int(os.environ.get("BENCH_EVENTS", "10000000"))
BIG_EVENTS = min(EVENTS, int(os.environ.get("BENCH_BIG_EVENTS", "1000000")))
N = int(os.environ.get("BENCH_N", "100"))
DEPTH = 10_000
GOALS = {"dashboard": 100.0}


def copy_rows(model: Any, columns: list[str], rows: Iterator[tuple]) -> int:
    """COPY rows of `columns` into the model's table; returns how many."""
    from django.db import connection

    table = model._meta.db_table
    count = 0
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy,
    ):
        for row in rows:
            copy.write_row(row)
            count += 1
    return count


def populate() -> dict[str, Any]:
    from django.db import connection
    from django.utils import timezone

    from audit.models import AuditChain, AuditEvent
    from connections.models import AccountStatus, ConnectedAccount, Connection
    from portal.models import Membership, Organization, Role
    from portal.organizations import bootstrap_organization
    from tests.factories import UserFactory

    started = time.perf_counter()
    big, owner, _ = bootstrap_organization(name="Large", owner_email="owner@large.test")
    member = UserFactory(email="member@large.test")
    Membership.objects.create(organization=big, user=member, role=Role.MEMBER)
    now = timezone.now()
    Organization.objects.bulk_create(
        [Organization(name=f"Org {i}", slug=f"org-{i}") for i in range(1, ORGS)], batch_size=5000
    )
    org_ids = list(Organization.objects.order_by("pk").values_list("pk", flat=True))
    Connection.objects.bulk_create(
        [
            Connection(organization_id=pk, name="monday", provider="monday", client_id="c")
            for pk in org_ids
        ],
        batch_size=5000,
    )
    connection_of = dict(Connection.objects.values_list("organization_id", "pk"))
    print(
        f"  {len(org_ids):,} organizations and connections in {time.perf_counter() - started:.0f} s"
    )

    started = time.perf_counter()
    per_org = max(1, ACCOUNTS // len(org_ids))
    rng = random.Random(7)

    def accounts() -> Iterator[tuple]:
        for org_id in org_ids:
            for i in range(per_org):
                identifier = member.identifier if (org_id == big.pk and i == 0) else f"user-{i}"
                due = rng.random() < 0.01
                expires = now + (
                    timedelta(minutes=2) if due else timedelta(hours=rng.randint(2, 50))
                )
                yield (
                    str(uuid.uuid4()),
                    org_id,
                    str(connection_of[org_id]),
                    identifier,
                    AccountStatus.ACTIVE if rng.random() < 0.95 else AccountStatus.EXPIRED,
                    json.dumps(["boards:read", "boards:write", "me:read"]),
                    expires,
                    now - timedelta(hours=1),
                    now,
                    now,
                    True,
                )

    account_columns = [
        "id",
        "organization_id",
        "connection_id",
        "identifier",
        "status",
        "scopes",
        "token_expires_at",
        "token_issued_at",
        "created_at",
        "updated_at",
        "is_default",
    ]
    account_columns += _defaults_needed(ConnectedAccount, account_columns)
    written = copy_rows(
        ConnectedAccount,
        account_columns,
        (
            row + _default_values(ConnectedAccount, account_columns[len(row) :])
            for row in accounts()
        ),
    )
    print(f"  {written:,} connected accounts in {time.perf_counter() - started:.0f} s")

    started = time.perf_counter()
    AuditEvent.objects.all().delete()
    event_columns = [
        "organization_id",
        "chain",
        "seq",
        "created_at",
        "actor_type",
        "actor_id",
        "actor_label",
        "identifier",
        "action",
        "target_type",
        "target_id",
        "outcome",
        "metadata",
        "request_id",
        "trace_id",
        "user_agent",
        "prev_hash",
        "hash",
        "content_hash",
    ]
    others = [pk for pk in org_ids if pk != big.pk]
    rest = EVENTS - BIG_EVENTS
    per_other = max(1, rest // max(1, len(others)))
    metadata = '{"connection": "monday", "tool": "monday_get_me", "via": "api"}'

    def events() -> Iterator[tuple]:
        for org_id, count in [(big.pk, BIG_EVENTS), *[(pk, per_other) for pk in others]]:
            for i in range(1, count + 1):
                yield (
                    org_id,
                    f"org-{org_id}",
                    i,
                    now - timedelta(seconds=(count - i) * 3),
                    "api_key",
                    "k",
                    "bench",
                    f"user-{i % 100}",
                    "tool.executed",
                    "tool",
                    "monday_get_me",
                    "success",
                    metadata,
                    "",
                    "",
                    "bench",
                    "",
                    "",
                    "",
                )

    written = copy_rows(AuditEvent, event_columns, events())
    AuditChain.objects.bulk_create(
        [AuditChain(key=f"org-{big.pk}", last_seq=BIG_EVENTS, last_hash="")], ignore_conflicts=True
    )
    # The usage rows those executions would have counted (one per organization and day).
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO connections_usageday (organization_id, day, agent, identifier, "
            "provider, tokens, tool_calls, denials, attempts, failures) "
            "SELECT organization_id, (created_at AT TIME ZONE 'UTC')::date, '', '', 'monday', "
            "0, count(*), 0, count(*), 0 FROM connections_auditevent GROUP BY 1, 2"
        )
        # As a database that has been running is: vacuumed (hint bits set, visibility map
        # current) and analyzed; else the first reads of COPYed pages write them, and
        # autovacuum would run during the measurements.
        cursor.execute("VACUUM ANALYZE")
    print(
        f"  {written:,} audit events (and their usage rows) in {time.perf_counter() - started:.0f} s"
    )
    return {"big": big, "owner": owner, "member": member, "org_ids": org_ids}


def _defaults_needed(model: Any, given: list[str]) -> list[str]:
    """NOT NULL columns the COPY does not name and the database has no default for."""
    return [
        f.column
        for f in model._meta.concrete_fields
        if f.column not in given and not f.null and not f.primary_key
    ]


def _default_values(model: Any, columns: list[str]) -> tuple:
    from django.db import connection

    by_column = {f.column: f for f in model._meta.concrete_fields}
    values = []
    for column in columns:
        field = by_column[column]
        value = field.get_db_prep_save(field.get_default(), connection)
        values.append(json.dumps(value.obj) if hasattr(value, "obj") else value)
    return tuple(values)


def organization_indexes_not_leading() -> list[str]:
    """Indexes of organization-owned tables whose first column is not the organization."""
    from django.apps import apps

    from core.tenancy import OrgOwned

    found = []
    for model in apps.get_models():
        if not issubclass(model, OrgOwned) and model._meta.db_table != "connections_auditevent":
            continue
        for index in model._meta.indexes:
            first = index.fields[0].lstrip("-")
            if first not in ("organization", "organization_id"):
                found.append(f"{model._meta.db_table}.{index.name} ({', '.join(index.fields)})")
    return found


def plan(sql_of: Any) -> str:
    from django.db import connection

    sql, params = sql_of.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS OFF, COSTS OFF, TIMING OFF) {sql}", params)
        return "\n".join("    " + row[0] for row in cursor.fetchall())


def main() -> None:
    with bench_database():
        from django.db import connection
        from django.test import Client
        from rest_framework.test import APIClient

        from audit import trail
        from connections import budgets, lookup, tools, upkeep
        from connections.models import ConnectedAccount
        from portal.apikeys import mint_api_key
        from portal.callers import Caller

        if database_vendor() != "postgresql":
            raise SystemExit("bench.scale runs on PostgreSQL: set DATABASE_URL=postgres://…")
        print(f"populating: {ORGS:,} organizations, {ACCOUNTS:,} accounts, {EVENTS:,} events")
        world = populate()
        big, owner, member = world["big"], world["owner"], world["member"]
        member_caller = Caller.of_member(big.membership_set.get(user=member))
        owner_caller = Caller.of_member(owner)
        _, key = mint_api_key(caller=owner_caller, name="bench")
        api = APIClient()
        api.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
        browser = Client()
        browser.force_login(owner.user)
        from audit.models import AuditEvent

        # The API pages by id, newest first (audit/api/views.py): a cursor 10,000 events deep.
        deep_id = (
            AuditEvent.objects.filter(organization=big)
            .order_by("-id")
            .values_list("id", flat=True)[DEPTH]
        )
        import base64

        deep_cursor = base64.b64encode(f"p={deep_id}".encode()).decode()

        def baseline() -> None:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")

        def get(client: Any, path: str, params: dict | None = None):
            def go() -> None:
                response = client.get(path, params or {})
                assert response.status_code == 200, (path, response.status_code)

            return go

        def execute_db_work() -> None:
            account = lookup.resolve_account(
                caller=member_caller, provider="monday", connection_name=None
            )
            trail.record(
                action="tool.executed",
                organization=big,
                identifier=member.identifier,
                target_type="tool",
                target_id="monday_get_me",
                metadata={"tool": "monday_get_me", "account": str(account.pk)},
            )
            budgets.count(budgets.Spender(big, member.identifier), provider="monday", tool_calls=1)

        starts = [0, *world["org_ids"]][: max(1, ORGS - upkeep.DUE_PAGE_ORGANIZATIONS)]

        def due_scan_page() -> None:
            upkeep.due_page(after=random.choice(starts))

        measured = {
            "due-for-refresh scan, a page": due_scan_page,
            "member's tool list": lambda: tools.list_tools(caller=member_caller),
            "tool execute, database work": execute_db_work,
            "dashboard": get(browser, "/"),
            "audit API, first page": get(api, "/api/v1/audit-events"),
            "audit API, 10,000 deep": get(api, "/api/v1/audit-events", {"cursor": deep_cursor}),
            "accounts API by identifier": get(
                api, "/api/v1/connected-accounts", {"identifier": member.identifier}
            ),
        }
        samples = timed(baseline, *measured.values(), n=N)
        base = sorted(samples[0])
        base_p50 = base[len(base) // 2] * 1000
        print(f"\ndatabase: {database_vendor()}, N={N}; baseline SELECT 1: p50 {base_p50:.3f} ms")
        print(f"{'':32} {'p50 ms':>8} {'p95 ms':>8} {'goal':>6}  ×baseline")
        for (name, _), times in zip(measured.items(), samples[1:], strict=True):
            ordered = sorted(times)
            p50 = ordered[len(ordered) // 2] * 1000
            p95 = ordered[int(len(ordered) * 0.95) - 1] * 1000
            goal = GOALS.get(name.split(",")[0], 20.0)
            verdict = "OK" if p95 <= goal else "MISSED"
            print(f"{name:32} {p50:8.2f} {p95:8.2f} {goal:6.0f}  {p50 / base_p50:6.0f}x  {verdict}")
        walk_started = time.perf_counter()
        due = upkeep.due_account_ids()
        walk = (time.perf_counter() - walk_started) * 1000
        pages = -(-ORGS // upkeep.DUE_PAGE_ORGANIZATIONS)
        print(
            f"\ndue accounts found by the whole scan: {len(due):,} in {pages} pages, {walk:.0f} ms"
        )
        print("plan, due-for-refresh scan (one page):")
        sql, params = upkeep.due_page_statement(
            after=0, organizations=upkeep.DUE_PAGE_ORGANIZATIONS
        )
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS OFF, COSTS OFF, TIMING OFF) {sql}", params)
            print("\n".join("    " + row[0] for row in cursor.fetchall()))
        print("plan, accounts by identifier:")
        print(
            plan(
                ConnectedAccount.objects.for_org(big)
                .filter(identifier=member.identifier)
                .order_by("-created_at")
            )
        )
        print("plan, audit first page:")
        print(plan(AuditEvent.objects.filter(organization=big).order_by("-id")[:51]))
        leading = organization_indexes_not_leading()
        print(f"\nindexes of organization-owned tables not led by the organization: {len(leading)}")
        for line in leading:
            print("  " + line)


if __name__ == "__main__":
    main()
