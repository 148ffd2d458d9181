"""DESIGN §12 rule 20 at /mcp and the OAuth endpoints: no input gets a 500. The gate reads
a body exactly as the SDK does; malformed JSON-RPC gets a JSON-RPC error (400, -32700
parse error / -32600 invalid request), never a crash — for the callers whose read-only
scope makes the gate look inside the body, too."""

from __future__ import annotations

import json

import httpx2
import pytest

from tests.api.test_hostile_input import BODIES, NESTED, NESTED_OBJECT, QUERY
from tests.mcp_support import bearer, sign_in

pytestmark = pytest.mark.django_db(transaction=True)

CALLS = [
    {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": ["a", "b"]}},
    {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": {"x": 1}}},
    {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": 7, "arguments": []}},
    {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": ["monday_create_item"]},
    {"jsonrpc": "2.0", "id": {"x": 1}, "method": "tools/call"},
    {"jsonrpc": "1.0", "id": 1, "method": "tools/list"},
    {"id": 1, "method": "tools/list"},
    [{"jsonrpc": "2.0", "id": 1, "method": "tools/list"}],
    [],
]
RAW = [
    *BODIES,
    NESTED,
    NESTED_OBJECT,
    b"",
    b"\x00",
    rb'{"jsonrpc": "2.0", "id": 1, "method": "\ud800"}',
]


@pytest.fixture
def read_only_token(alice, boards, live_portal):
    storage, _, _ = sign_in(live_portal, alice, organization="acme", write=False)
    return storage.tokens.access_token


def test_hostile_json_rpc_never_gets_a_500_at_mcp(read_only_token, api_key, alice, live_portal):
    callers = [
        bearer(read_only_token),  # read-only: the gate inspects the body
        bearer(api_key, **{"X-Portal-Identifier": alice.user.identifier}),
    ]
    for headers in callers:
        headers = {**headers, "Accept": "application/json, text/event-stream"}
        for body in [json.dumps(c).encode() for c in CALLS] + RAW:
            answer = httpx2.post(
                live_portal.mcp_url,
                headers={**headers, "Content-Type": "application/json"},
                content=body,
                timeout=10,
            )
            assert answer.status_code < 500, (body[:60], answer.status_code, answer.text[:300])
            if answer.status_code >= 400 and answer.headers.get("content-type", "").startswith(
                "application/json"
            ):
                assert answer.json()


def test_malformed_bodies_get_json_rpc_errors(read_only_token, live_portal):
    headers = {
        **bearer(read_only_token),
        "Content-Type": "application/json",
        "Accept": "application/json, text/event-stream",
    }
    for body, code in ((NESTED, -32700), (b"{", -32700), (b"[]", -32600), (b'"x"', -32600)):
        answer = httpx2.post(live_portal.mcp_url, headers=headers, content=body)
        assert answer.status_code == 400, (body[:20], answer.text)
        assert answer.json()["error"]["code"] == code
        assert answer.json()["jsonrpc"] == "2.0"


OAUTH_PATHS = [
    "/oauth2/token/",
    "/oauth2/revoke/",
    "/oauth2/register/",
    "/oauth2/register/not-a-client/",
    "/oauth2/authorize/",
    "/.well-known/oauth-authorization-server",
    "/.well-known/oauth-protected-resource/mcp",
]
FORMS = [
    {"grant_type": ["authorization_code", "refresh_token"], "code": "\x00"},
    {"grant_type": "refresh_token", "refresh_token": "x" * 5000, "client_id": "é" * 300},
    {"grant_type": "authorization_code", "code": "", "redirect_uri": "javascript:x"},
    {"token": "\x00", "token_type_hint": "nope"},
    {"grant_type": "urn:ietf:params:oauth:grant-type:device_code"},
]


@pytest.mark.parametrize("path", OAUTH_PATHS)
def test_hostile_input_never_gets_a_500_at_the_oauth_endpoints(path, client, member_client):
    for who in (client, member_client):
        assert who.get(path + QUERY).status_code < 500
        for body in [*BODIES, NESTED, NESTED_OBJECT]:
            for method in (who.post, who.put, who.delete):
                answer = method(path, data=body, content_type="application/json")
                assert answer.status_code < 500, (path, method.__name__, body[:40])
        for form in FORMS:
            answer = who.post(path, form)
            assert answer.status_code < 500, (path, form)
        for raw in (b"grant_type=refresh_token&client_id=%ED%A0%80&refresh_token=%FF", b"%%%"):
            answer = who.post(path, data=raw, content_type="application/x-www-form-urlencoded")
            assert answer.status_code < 500, (path, raw)
