"""What the portal adds to a tool call (run on PostgreSQL: DATABASE_URL=postgres://…).

(a) in-process: `execute_tool(...)` vs the same GraphQL request sent straight to
    the monday emulator with httpx; N calls each, median and p95, overhead in ms —
    a read (monday_get_me) and a write (monday_create_item: written ahead, then
    completed). Targets: ≤ 2 ms median added for a read, ≤ 3 ms for a write.
(b) over HTTP: POST /api/v1/tools/execute under gunicorn (4 workers) vs the
    emulator called directly, same load generator, same concurrency; requests per
    second of both and their ratio.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import httpx

from bench.common import (
    ROOT,
    bench_database,
    connected_tenant,
    database_url,
    database_vendor,
    median_ms,
    p95_ms,
    timed,
    wait_until_up,
)

N = int(os.environ.get("BENCH_N", "2000"))
CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", "16"))
DURATION = float(os.environ.get("BENCH_SECONDS", "8"))


def setup_world():
    """Org, owner, API key, monday connection on the emulator, Alice connected."""
    from connections.providers.monday.emulator import MondayEmulator
    from connections.providers.monday.emulator_api import MondayApi

    emulator = MondayEmulator().start()
    emulator.add_client("bench", "bench-secret", ["http://testserver/oauth/callback/monday/"])
    emulator.add_user(101, "Alice", "alice@bench.test")
    emulator.login_as(101)
    api = MondayApi(emulator)
    api.add_board(1001, "Marketing", members=[101])
    org, owner, key = connected_tenant(emulator, name="Bench", owner_email="owner@bench.test")
    return emulator, org, owner.user.identifier, key


READ_QUERY = "query { me { id name email title account { id name } } }"


def direct_request(emulator, token: str, query: str = READ_QUERY, variables: dict | None = None):
    client = httpx.Client(timeout=10)
    body = {"query": query, "variables": variables or {}}
    headers = {"Authorization": token, "API-Version": "2025-04"}
    return lambda: client.post(f"{emulator.base_url}/v2", json=body, headers=headers).json()


def create_item_request(emulator, token: str):
    """The request monday_create_item sends, sent straight."""
    from connections.providers.monday.tools.items import ITEM_FIELDS

    query = (
        "mutation ($board_id: ID!, $group_id: String, $item_name: String!, $column_values: JSON) "
        "{ create_item(board_id: $board_id, group_id: $group_id, item_name: $item_name, "
        f"column_values: $column_values) {{ {ITEM_FIELDS} }} }}"
    )
    return direct_request(emulator, token, query, {"board_id": "1001", "item_name": "Direct"})


def load(url: str, body: dict, headers: dict) -> float:
    """Requests per second over DURATION seconds with CONCURRENCY keep-alive clients."""
    count, errors, stop = [0], [0], time.monotonic() + DURATION

    def worker():
        with httpx.Client(timeout=30) as client:
            while time.monotonic() < stop:
                response = client.post(url, json=body, headers=headers)
                count[0] += 1
                errors[0] += response.status_code != 200

    threads = [threading.Thread(target=worker) for _ in range(CONCURRENCY)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors[0]:
        print(f"  ({errors[0]} of {count[0]} requests failed)")
    return count[0] / (time.monotonic() - started)


def main() -> None:
    with bench_database():
        from django.db import connection

        from connections import tokens, tools
        from connections.models import ConnectedAccount
        from portal.callers import Caller

        emulator, org, identifier, key = setup_world()
        token = tokens.get_access_token(ConnectedAccount.objects.get(identifier=identifier))
        caller = Caller(organization=org, identifier=identifier)
        print(f"database: {database_vendor()}, N={N}")
        cases = {
            "read": (
                direct_request(emulator, token),
                lambda: tools.execute_tool(caller=caller, tool_name="monday_get_me", params={}),
                2.0,
            ),
            "write": (
                create_item_request(emulator, token),
                lambda: tools.execute_tool(
                    caller=caller,
                    tool_name="monday_create_item",
                    params={"board_id": "1001", "item_name": "Through the portal"},
                ),
                3.0,
            ),
        }
        for kind, (direct_call, portal_call, target) in cases.items():
            direct, portal = timed(direct_call, portal_call, n=N)
            print(
                f"(a) {kind}: direct httpx → emulator median {median_ms(direct):.3f} ms, "
                f"execute_tool median {median_ms(portal):.3f} ms (p95 {p95_ms(portal):.3f})"
            )
            print(
                f"(a) {kind} overhead: {median_ms(portal) - median_ms(direct):.3f} ms median "
                f"(target <= {target:g} ms), {p95_ms(portal) - p95_ms(direct):.3f} ms p95"
            )

        # (b) gunicorn with 4 workers on the same (committed) bench database.
        settings_dict = connection.settings_dict
        env = {
            **os.environ,
            "DATABASE_URL": database_url(settings_dict),
            "API_RATE_LIMIT": "1000000/min",
            "ALLOWED_HOSTS": "127.0.0.1",
            "DEBUG": "0",
            "SECRET_KEY": "bench-only-secret-key-" + "x" * 40,
            "DJANGO_SETTINGS_MODULE": "portal.settings.test",
            "SECURE_SSL_REDIRECT": "0",
            "LOG_LEVEL": "WARNING",
        }
        port = 18765
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "portal.wsgi",
                "-w",
                "4",
                "-b",
                f"127.0.0.1:{port}",
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env=env,
        )
        try:
            wait_until_up(f"http://127.0.0.1:{port}/api/schema/")
            body = {"tool_name": "monday_get_me", "identifier": identifier, "params": {}}
            portal_rps = load(
                f"http://127.0.0.1:{port}/api/v1/tools/execute",
                body,
                {"Authorization": f"Bearer {key}"},
            )
            direct_rps = load(
                f"{emulator.base_url}/v2",
                {"query": READ_QUERY, "variables": {}},
                {"Authorization": token, "API-Version": "2025-04"},
            )
        finally:
            server.terminate()
            server.wait(timeout=30)
            emulator.stop()
        print(f"(b) concurrency {CONCURRENCY}, {DURATION:.0f} s each")
        print(f"(b) emulator direct: {direct_rps:,.0f} req/s")
        print(f"(b) POST /api/v1/tools/execute (gunicorn -w 4): {portal_rps:,.0f} req/s")
        print(f"(b) ratio portal / direct: {portal_rps / direct_rps:.2f}")


if __name__ == "__main__":
    main()
