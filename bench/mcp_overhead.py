"""tools/call over MCP vs POST /api/v1/tools/execute (run on PostgreSQL:
DATABASE_URL=postgres://…).

The portal runs as in production's ASGI form (uvicorn, one process, the app of
portal/asgi.py with /mcp). The same tool (monday_get_me, at the monday emulator) is
called both ways with the same credentials (an API key naming the user, so neither side
pays for a different sign-in), interleaved call by call over keep-alive connections.
MCP requests are the SDK client's own 2026-07-28 requests (headers and `_meta`).
Target: MCP median ≤ 1.5× the REST median. Then throughput with CONCURRENCY clients.
"""

from __future__ import annotations

import os
import statistics
import threading
import time

import httpx2

# As in production on PostgreSQL: a connection pool per process (Django's ASGI handler
# runs each request in a thread of its own; persistent per-thread connections would pile
# up).
os.environ.setdefault("DB_POOL_MAX_SIZE", "20")

from bench.common import bench_database, database_vendor, median_ms, p95_ms

N = int(os.environ.get("BENCH_N", "500"))
CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", "16"))
DURATION = float(os.environ.get("BENCH_DURATION", "8"))
META = {
    "io.modelcontextprotocol/protocolVersion": "2026-07-28",
    "io.modelcontextprotocol/clientInfo": {"name": "bench", "version": "1"},
    "io.modelcontextprotocol/clientCapabilities": {},
}


def mcp_call(client: httpx2.Client, url: str, headers: dict):
    body = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/call",
        "params": {"name": "monday_get_me", "arguments": {}, "_meta": META},
    }
    answer = client.post(
        url,
        json=body,
        headers={
            **headers,
            "Accept": "application/json, text/event-stream",
            "MCP-Protocol-Version": "2026-07-28",
            "Mcp-Method": "tools/call",
            "Mcp-Name": "monday_get_me",
        },
    )
    assert answer.status_code == 200, f"{answer.status_code} {answer.text[:300]}"
    result = answer.json()["result"]
    assert not result.get("isError"), answer.text
    return result


def throughput(call) -> float:
    count, stop = [0], time.monotonic() + DURATION

    def worker() -> None:
        with httpx2.Client(timeout=30) as client:
            while time.monotonic() < stop:
                call(client)
                count[0] += 1

    threads = [threading.Thread(target=worker) for _ in range(CONCURRENCY)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return count[0] / (time.monotonic() - started)


def main() -> None:
    with bench_database():
        from django.conf import settings

        from bench.execute_overhead import setup_world
        from tests.mcp_support import serve_portal

        emulator, _, identifier, key = setup_world()
        with serve_portal(settings) as portal:
            headers = {"Authorization": f"Bearer {key}", "X-Portal-Identifier": identifier}
            mcp_url = portal.mcp_url
            rest_url = f"{portal.origin}/api/v1/tools/execute"
            rest_body_headers = {"Authorization": f"Bearer {key}"}
            rest = httpx2.Client(timeout=30)
            mcp = httpx2.Client(timeout=30)

            def rest_once(client=rest):
                answer = client.post(
                    rest_url,
                    json={"tool_name": "monday_get_me", "params": {}, "identifier": identifier},
                    headers=rest_body_headers,
                )
                assert answer.status_code == 200, answer.text

            def mcp_once(client=mcp):
                mcp_call(client, mcp_url, headers)

            for _ in range(30):  # warm-up
                rest_once()
                mcp_once()
            rest_samples, mcp_samples = [], []
            for _ in range(N):
                for fn, out in ((rest_once, rest_samples), (mcp_once, mcp_samples)):
                    started = time.perf_counter()
                    fn()
                    out.append(time.perf_counter() - started)
            rest_rate = throughput(lambda client: rest_once(client))
            mcp_rate = throughput(lambda client: mcp_once(client))
        emulator.stop()

        print(
            f"database: {database_vendor()}; server: uvicorn, one process; N={N} each, interleaved"
        )
        print(
            f"REST POST /api/v1/tools/execute: median {median_ms(rest_samples):.2f} ms, "
            f"p95 {p95_ms(rest_samples):.2f} ms"
        )
        print(
            f"MCP tools/call:                  median {median_ms(mcp_samples):.2f} ms, "
            f"p95 {p95_ms(mcp_samples):.2f} ms"
        )
        ratio = statistics.median(mcp_samples) / statistics.median(rest_samples)
        print(f"ratio MCP / REST (median): {ratio:.2f} (target <= 1.5)")
        print(
            f"throughput with {CONCURRENCY} clients, {DURATION:.0f} s each: REST {rest_rate:.0f} "
            f"req/s, MCP {mcp_rate:.0f} req/s (ratio {mcp_rate / rest_rate:.2f})"
        )


if __name__ == "__main__":
    main()
