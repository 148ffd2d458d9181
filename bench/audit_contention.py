"""Does one busy organization cap the portal? (issue 21; run on PostgreSQL:
DATABASE_URL=postgres://… .venv/bin/python -m bench.audit_contention)

Every tool call appends audit events. When appends serialize on a per-organization row,
50 clients of one organization go no faster than that row allows, while the same load
spread over 10 organizations does not. Measured under gunicorn (4 workers), side by side
in one run, for a read tool (monday_get_me) and a write tool (monday_create_item):

  one organization, 50 clients   vs   10 organizations, 5 clients each
  target: the spread load within 1.5× of the one-organization load;

and the portal against the monday emulator called directly at 16 clients (same load
generator): target ≥ 0.35×. Prints requests per second and the ratios, then runs
verify_audit over everything the load wrote.
"""

from __future__ import annotations

import os
import threading
import time

import httpx

from bench.common import (
    ROOT,
    bench_database,
    connected_tenant,
    database_url,
    database_vendor,
    wait_until_up,
)

SECONDS = float(os.environ.get("BENCH_SECONDS", "8"))
ORGS = 10
CLIENTS = 50
DIRECT_CLIENTS = 16


def setup(emulator):
    """ORGS organizations, each with a monday connection and one connected person."""
    tenants = []
    for n in range(ORGS):
        _, owner, key = connected_tenant(
            emulator, name=f"Bench {n}", owner_email=f"owner{n}@bench.test"
        )
        tenants.append((key, owner.user.identifier))
    return tenants


def load(url: str, requests: list[tuple[dict, dict]], clients: int) -> tuple[float, int]:
    """Requests per second over SECONDS with `clients` keep-alive clients; client i sends
    requests[i % len(requests)] (body, headers) again and again."""
    count, errors, stop = [0], [0], time.monotonic() + SECONDS
    lock = threading.Lock()

    def worker(index: int) -> None:
        body, headers = requests[index % len(requests)]
        with httpx.Client(timeout=60) as client:
            while time.monotonic() < stop:
                answer = client.post(url, json=body, headers=headers)
                with lock:
                    count[0] += 1
                    errors[0] += answer.status_code != 200

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return count[0] / (time.monotonic() - started), errors[0]


def main() -> None:
    import subprocess
    import sys

    with bench_database():
        from django.db import connection

        from connections import tokens
        from connections.models import ConnectedAccount
        from connections.providers.monday.emulator import MondayEmulator
        from connections.providers.monday.emulator_api import MondayApi

        emulator = MondayEmulator().start()
        emulator.add_client("bench", "bench-secret", ["http://testserver/oauth/callback/monday/"])
        emulator.add_user(101, "Alice", "alice@bench.test")
        emulator.login_as(101)
        MondayApi(emulator).add_board(1001, "Marketing", members=[101])
        tenants = setup(emulator)
        token = tokens.get_access_token(ConnectedAccount.objects.first())

        env = {
            **os.environ,
            "DATABASE_URL": database_url(connection.settings_dict),
            "API_RATE_LIMIT": "100000000/min",
            "ALLOWED_HOSTS": "127.0.0.1",
            "DEBUG": "0",
            "SECRET_KEY": "bench-only-secret-key-" + "x" * 40,
            "DJANGO_SETTINGS_MODULE": "portal.settings.test",
            "SECURE_SSL_REDIRECT": "0",
        }
        port = 18766
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "portal.wsgi",
                "-w",
                "4",
                "--threads",
                "4",
                "-b",
                f"127.0.0.1:{port}",
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env=env,
        )
        url = f"http://127.0.0.1:{port}/api/v1/tools/execute"
        calls = {
            "read (monday_get_me)": {"tool_name": "monday_get_me", "params": {}},
            "write (monday_create_item)": {
                "tool_name": "monday_create_item",
                "params": {"board_id": "1001", "item_name": "Bench item"},
            },
        }
        at16 = {}
        try:
            wait_until_up(f"http://127.0.0.1:{port}/healthz")
            print(f"database: {database_vendor()}, {SECONDS:.0f} s per load, gunicorn -w 4")
            for label, call in calls.items():
                requests = [
                    ({**call, "identifier": identifier}, {"Authorization": f"Bearer {key}"})
                    for key, identifier in tenants
                ]
                one, one_errors = load(url, requests[:1], CLIENTS)
                spread, spread_errors = load(url, requests, CLIENTS)
                portal16, _ = load(url, requests, DIRECT_CLIENTS)
                print(f"{label}:")
                print(
                    f"  one organization, {CLIENTS} clients: {one:,.0f} req/s ({one_errors} errors)"
                )
                print(
                    f"  {ORGS} organizations, {CLIENTS} clients: {spread:,.0f} req/s "
                    f"({spread_errors} errors)"
                )
                print(f"  spread / one: {spread / one:.2f} (target ≤ 1.5)")
                print(f"  portal, {DIRECT_CLIENTS} clients: {portal16:,.0f} req/s")
                at16[label] = portal16
            direct, _ = load(
                f"{emulator.base_url}/v2",
                [
                    (
                        {"query": "query { me { id name email } }", "variables": {}},
                        {"Authorization": token, "API-Version": "2025-04"},
                    )
                ],
                DIRECT_CLIENTS,
            )
            print(f"emulator direct, {DIRECT_CLIENTS} clients: {direct:,.0f} req/s")
            for label, rps in at16.items():
                print(f"{label}, portal / direct at {DIRECT_CLIENTS} clients: {rps / direct:.2f}")
            # The guarantees hold after the load: every event chained and verified.
            from django.core.management import call_command

            print("verify_audit after the load: ", end="", flush=True)
            call_command("verify_audit")
        finally:
            server.terminate()
            server.wait(timeout=30)
            emulator.stop()


if __name__ == "__main__":
    main()
