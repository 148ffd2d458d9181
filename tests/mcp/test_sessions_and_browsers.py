"""Contracts MCP clients rely on (issue 20): a handshake-era session exists only after a
successful `initialize`, lapses when idle and is capped per principal; an unknown protocol
version is told the ones spoken here; browser-based clients (allowed origins only) can
read the 401 challenge and the session id and call the OAuth endpoints cross-origin."""

from __future__ import annotations

import time

import httpx2
import pytest

from tests.mcp_support import bearer, use_tools

pytestmark = pytest.mark.django_db(transaction=True)

BROWSER_APP = "https://inspector.example"
ACCEPT = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "raw", "version": "1"},
    },
}
LISTING = {"jsonrpc": "2.0", "id": 2, "method": "tools/list"}


@pytest.fixture
def short_sessions(settings):
    """Set before the portal starts (the SDK reads its idle timeout then)."""
    settings.MCP_SESSION_IDLE_SECONDS = 1.5
    settings.MCP_SESSIONS_PER_PRINCIPAL = 2
    settings.MCP_ALLOWED_ORIGINS = [BROWSER_APP]


@pytest.fixture
def as_alice(alice, boards, api_key):
    return {**ACCEPT, **bearer(api_key, **{"X-Portal-Identifier": alice.user.identifier})}


def _initialize(portal, headers) -> httpx2.Response:
    return httpx2.post(portal.mcp_url, headers=headers, json=INITIALIZE)


def test_a_request_without_a_session_is_refused_and_opens_none(as_alice, live_portal):
    for version in (None, "2025-06-18", "2025-11-25"):
        headers = {**as_alice, **({"Mcp-Protocol-Version": version} if version else {})}
        stray = httpx2.post(live_portal.mcp_url, headers=headers, json=LISTING)
        assert stray.status_code == 400, stray.text
        assert "mcp-session-id" not in stray.headers
        assert "initialize" in stray.json()["error"]["message"]


def test_an_unsupported_protocol_version_is_told_the_supported_ones(as_alice, live_portal):
    answer = httpx2.post(
        live_portal.mcp_url,
        headers={**as_alice, "Mcp-Protocol-Version": "1999-01-01"},
        json=LISTING,
    )
    assert answer.status_code == 400
    message = answer.json()["error"]["message"]
    assert all(v in message for v in ("2025-06-18", "2025-11-25", "2026-07-28")), message


def test_sessions_are_capped_per_principal_and_lapse_when_idle(
    short_sessions, as_alice, live_portal
):
    first, second = _initialize(live_portal, as_alice), _initialize(live_portal, as_alice)
    assert first.status_code == second.status_code == 200
    sessions = [first.headers["mcp-session-id"], second.headers["mcp-session-id"]]
    third = _initialize(live_portal, as_alice)
    assert third.status_code == 429 and "mcp-session-id" not in third.headers

    # Ending one makes room.
    ended = httpx2.delete(
        live_portal.mcp_url,
        headers={**as_alice, "Mcp-Session-Id": sessions[0], "Mcp-Protocol-Version": "2025-06-18"},
    )
    assert ended.status_code < 300
    assert _initialize(live_portal, as_alice).status_code == 200

    # Idle sessions lapse: their ids answer 404, and they no longer count.
    time.sleep(2.5)
    lapsed = httpx2.post(
        live_portal.mcp_url,
        headers={**as_alice, "Mcp-Session-Id": sessions[1], "Mcp-Protocol-Version": "2025-06-18"},
        json=LISTING,
    )
    assert lapsed.status_code == 404
    assert _initialize(live_portal, as_alice).status_code == 200
    assert _initialize(live_portal, as_alice).status_code == 200


def test_the_sdk_client_still_uses_both_eras(as_alice, live_portal):
    headers = {k: v for k, v in as_alice.items() if k not in ACCEPT}
    assert use_tools(live_portal.mcp_url, headers=headers, mode="legacy").names
    assert use_tools(live_portal.mcp_url, headers=headers).names


def test_a_browser_client_of_an_allowed_origin_reads_the_challenge_and_session(
    short_sessions, as_alice, live_portal
):
    preflight = httpx2.request(
        "OPTIONS",
        live_portal.mcp_url,
        headers={
            "Origin": BROWSER_APP,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type, mcp-protocol-version",
        },
    )
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == BROWSER_APP
    allowed = preflight.headers["access-control-allow-headers"].lower()
    assert {"authorization", "content-type", "mcp-protocol-version"} <= {
        h.strip() for h in allowed.split(",")
    }

    unauthenticated = httpx2.post(
        live_portal.mcp_url, headers={**ACCEPT, "Origin": BROWSER_APP}, json=LISTING
    )
    assert unauthenticated.status_code == 401
    assert unauthenticated.headers["access-control-allow-origin"] == BROWSER_APP
    exposed = unauthenticated.headers["access-control-expose-headers"].lower()
    assert "www-authenticate" in exposed and "mcp-session-id" in exposed

    opened = _initialize(live_portal, {**as_alice, "Origin": BROWSER_APP})
    assert opened.status_code == 200 and opened.headers["mcp-session-id"]
    assert "mcp-session-id" in opened.headers["access-control-expose-headers"].lower()


@pytest.mark.parametrize(
    "path",
    [
        "/.well-known/oauth-authorization-server",
        "/.well-known/oauth-protected-resource/mcp",
        "/oauth2/register/",
        "/oauth2/token/",
        "/oauth2/revoke/",
    ],
)
def test_the_oauth_endpoints_allow_an_allowed_origin_and_nobody_else(path, client, settings):
    settings.MCP_ALLOWED_ORIGINS = [BROWSER_APP]
    preflight = client.options(
        path,
        headers={"Origin": BROWSER_APP, "Access-Control-Request-Method": "POST"},
    )
    assert preflight.status_code == 204
    assert preflight["Access-Control-Allow-Origin"] == BROWSER_APP
    assert "Access-Control-Allow-Credentials" not in preflight
    answer = client.get(path, headers={"Origin": BROWSER_APP})
    assert answer["Access-Control-Allow-Origin"] == BROWSER_APP

    for elsewhere in ("https://evil.example", None):
        headers = {"Origin": elsewhere} if elsewhere else {}
        plain = client.get(path, headers=headers)
        assert "Access-Control-Allow-Origin" not in plain
        refused = client.options(path, headers={**headers, "Access-Control-Request-Method": "POST"})
        assert "Access-Control-Allow-Origin" not in refused


def test_an_origin_not_allowed_gets_nothing_extra_at_mcp(as_alice, live_portal):
    answer = httpx2.post(
        live_portal.mcp_url, headers={**as_alice, "Origin": "https://evil.example"}, json=LISTING
    )
    assert answer.status_code == 403
    assert "access-control-allow-origin" not in answer.headers
