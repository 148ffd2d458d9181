"""Stateless /mcp behind any load balancer (issue 28): two uvicorn processes behind a
round-robin proxy that sends each request to the other one. The SDK client's
handshake-era session (initialize, then tools/list and tools/call on its session id)
works across both, and so does the 2026 era; a session ended through one process is
gone in the other. PostgreSQL only: the processes share the test's database."""

from __future__ import annotations

import httpx2
import pytest
from django.db import connection

from tests.fakes.round_robin import RoundRobin
from tests.mcp_support import bearer, use_tools
from tests.worker_support import _cannot_run, database_url_of_tests, start_web

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def two_web_processes(tmp_path, private_redis):
    if connection.vendor != "postgresql":
        _cannot_run("web processes share the test database: PostgreSQL only (.ci/run's 2nd pass)")
    webs = []
    try:
        for n in range(2):
            folder = tmp_path / f"web{n}"
            folder.mkdir()
            webs.append(
                start_web(
                    folder,
                    redis_url=private_redis.url,
                    database_url=database_url_of_tests(),
                    EGRESS_ALLOW_PRIVATE="127.0.0.0/8",
                )
            )
        with RoundRobin([web.origin for web in webs]) as balancer:
            yield balancer
    finally:
        for web in webs:
            web.stop()


def test_a_session_works_across_two_processes_with_no_affinity(
    two_web_processes, api_key, alice, boards
):
    balancer = two_web_processes
    mcp_url = f"{balancer.origin}/mcp"
    headers = bearer(api_key, **{"X-Portal-Identifier": alice.user.identifier})
    for mode in ("legacy", "auto"):  # the handshake era (sessions), then the 2026 era
        before = len(balancer.answered_by)
        outcome = use_tools(
            mcp_url,
            headers=headers,
            mode=mode,
            calls=(
                ("monday_get_me", {}),
                ("monday_create_item", {"board_id": "1001", "item_name": f"Across ({mode})"}),
            ),
        )
        assert "monday_get_me" in outcome.names
        me, created = outcome.results
        assert not me.is_error and not created.is_error, (me, created)
        assert {0, 1} <= set(balancer.answered_by[before:])  # both processes answered
    assert [i["name"] for i in boards.items.values() if i["name"].startswith("Across")] == [
        "Across (legacy)",
        "Across (auto)",
    ]

    # A session opened through one process is ended through the other, and is gone for both.
    opened = httpx2.post(
        mcp_url,
        headers={
            **headers,
            "Accept": "application/json, text/event-stream",
            "Mcp-Protocol-Version": "2025-06-18",
        },
        json={
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {
                "protocolVersion": "2025-06-18",
                "capabilities": {},
                "clientInfo": {"name": "raw", "version": "1"},
            },
        },
        timeout=20,
    )
    session = opened.headers["mcp-session-id"]
    with_session = {
        **headers,
        "Accept": "application/json, text/event-stream",
        "Mcp-Protocol-Version": "2025-06-18",
        "Mcp-Session-Id": session,
    }
    listing = {"jsonrpc": "2.0", "id": 2, "method": "tools/list"}
    answers = [httpx2.post(mcp_url, headers=with_session, json=listing, timeout=20) for _ in (1, 2)]
    assert [a.status_code for a in answers] == [200, 200]
    assert httpx2.delete(mcp_url, headers=with_session, timeout=20).status_code == 200
    after = [httpx2.post(mcp_url, headers=with_session, json=listing, timeout=20) for _ in (1, 2)]
    assert [a.status_code for a in after] == [404, 404]
