"""No input gets a 500: every API route and method, fed bodies and queries of the wrong
shape, answers a 4xx (or 2xx) with the JSON error envelope.

Routes are walked from the URLconf like the tenancy test, so a new endpoint is covered
the day it is added; path parameters name real objects of the caller's organization.
"""

from __future__ import annotations

import json

import pytest
from django.urls import get_resolver
from rest_framework.test import APIClient

from portal.apikeys import mint_api_key
from portal.callers import Caller
from tests.db_changes import Snapshot
from tests.test_tenancy import OBJECTS_OF_ORG_A, _path, _walk

FIELDS = [
    "name", "provider", "client_id", "client_secret", "scopes", "enabled", "disabled_tools",
    "authorization_url", "token_url", "revoke_url", "api_base_url", "connection_name",
    "identifier", "user_verify_url", "state", "auth_request_id", "tool_name", "params",
    "prompt", "instructions", "model", "temperature", "max_steps", "allowed_connections",
    "allowed_tools", "approval_policy", "base_url", "api_key", "reason",
]  # fmt: skip
ODD_VALUES = [None, [], {"$gt": ""}, "x" * 20_000, -1, 1e308, "\x00\ud7ff😀", True]
BODIES = [b"[]", b'"text"', b"null", b"{", b"\xff\xfe"] + [
    json.dumps({field: value for field in FIELDS}).encode() for value in ODD_VALUES
]
QUERY = (
    "?cursor=%00%ff&limit=-1&status=<script>&agent_id=not-a-uuid&since=yesterday&until=1e99"
    "&identifier=" + "z" * 3000 + "&connection_name=../../etc&action=%27&outcome=maybe&q=%25"
)


def api_routes():
    return [
        (route, pattern)
        for route, pattern, _ in _walk(get_resolver().url_patterns)
        if route.startswith("api/v1/")
    ]


@pytest.mark.parametrize(("route", "pattern"), api_routes(), ids=lambda v: str(v))
def test_odd_input_never_gets_a_500(route, pattern, org, owner, settings):
    settings.OPENAI_API_KEY = ""  # agent runs end at "not configured", never on the network
    for name in pattern.pattern.regex.groupindex:
        assert name in OBJECTS_OF_ORG_A
    path = _path(route, pattern, org, owner)
    _, key = mint_api_key(caller=Caller.of_member(owner), name="fuzz")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    seen = set()
    for method in ("get", "post", "put", "patch", "delete"):
        for body in [None] if method in ("get", "delete") else BODIES:
            before = Snapshot.take()
            response = getattr(client, method)(
                path + (QUERY if method == "get" else ""),
                data=body,
                content_type="application/json",
            )
            status = response.status_code
            assert status < 500, f"{method.upper()} {path} {body!r:.60} → {status}"
            seen.add(status)
            if status >= 400:
                error = response.json()["error"]
                assert error["code"] and error["message"], (method, path, error)
                # DESIGN §13 rule 26: a refused request changes nothing.
                assert before.refused_changes() == [], (method, path, body)
    assert seen - {405}, f"{path}: every method was 405, nothing was exercised"


def page_routes():
    return [
        (route, pattern)
        for route, pattern, namespace in _walk(get_resolver().url_patterns)
        if not route.startswith(("api/", "admin/")) and namespace != "admin"
    ]


FORM = {field: ["\x00", "x" * 5000, "-1"] for field in FIELDS} | {
    "days": "1e9", "role": "emperor", "expires_at": "soon", "decision": "maybe",
    "status": "<b>", "before": "-5", "csrfmiddlewaretoken": "nope",
}  # fmt: skip


# Path values that are not objects: tokens, catalog names, random request ids.
CAPABILITIES = {
    "token": "not-a-signed-token",
    "tool_name": "monday_get_me",
    "auth_request_id": "0b0e9d0e-5f39-4c7e-9a35-7d1d2f0c6a11",
    "provider": "monday",
    "key": "forged-key",
    "uidb36": "zz",
    "client_id": "not-a-client",
}


@pytest.mark.parametrize(("route", "pattern"), page_routes(), ids=lambda v: str(v))
def test_odd_form_input_on_pages_never_gets_a_500(route, pattern, org, owner, settings):
    from tests.fixtures import signed_in

    settings.OPENAI_API_KEY = ""
    path = _path(route, pattern, org, owner, CAPABILITIES)
    client = signed_in(owner)
    for response in (client.get(path + QUERY), client.post(path + QUERY, FORM)):
        assert response.status_code < 500, f"{response.request['REQUEST_METHOD']} {path}"


# --- Classes of input that reached the database (DESIGN §12 rule 20), for every route ---

FILTER_KEYS = [
    "q", "actor", "identifier", "action", "connection_name", "connection", "status",
    "outcome", "agent_id", "user_id", "agent", "user", "before", "cursor", "tool_name",
]  # fmt: skip
NUL_QUERY = "?" + "&".join(f"{key}=a%00b" for key in FILTER_KEYS)
IMPOSSIBLE_DATES = [
    "?since=2026-13-45",
    "?until=0000-00-00",
    "?since=2026-02-30",
    "?until=2026-11-24T25:61",
    "?since=99999-01-01",
]
NESTED = b"[" * 3000 + b"]" * 3000
NESTED_OBJECT = b'{"a":' * 3000 + b"1" + b"}" * 3000
OVER_THE_LIMIT = b'{"name": "' + b"a" * (3 * 2**20) + b'"}'


def _key_client(org, owner) -> APIClient:
    _, key = mint_api_key(caller=Caller.of_member(owner), name="fuzz")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


def _envelope(response) -> None:
    if response.status_code >= 400:
        error = response.json()["error"]
        assert error["code"] and error["message"]


@pytest.mark.parametrize(("route", "pattern"), api_routes(), ids=lambda v: str(v))
def test_nul_dates_nesting_and_size_never_get_a_500_on_the_api(
    route, pattern, org, owner, settings
):
    settings.OPENAI_API_KEY = ""
    path = _path(route, pattern, org, owner)
    client = _key_client(org, owner)
    for query in [NUL_QUERY, *IMPOSSIBLE_DATES]:
        response = client.get(path + query)
        assert response.status_code < 500, f"GET {path}{query} → {response.status_code}"
        _envelope(response)
    for method in ("post", "put", "patch"):
        for body in (NESTED, NESTED_OBJECT, OVER_THE_LIMIT):
            response = getattr(client, method)(path, data=body, content_type="application/json")
            assert response.status_code < 500, f"{method.upper()} {path} {body[:20]!r}"
            _envelope(response)
            if body is OVER_THE_LIMIT and response.status_code != 405:
                assert response.status_code == 413


@pytest.mark.parametrize(("route", "pattern"), page_routes(), ids=lambda v: str(v))
def test_nul_and_impossible_dates_never_get_a_500_on_pages(route, pattern, org, owner, settings):
    from tests.fixtures import signed_in

    settings.OPENAI_API_KEY = ""
    path = _path(route, pattern, org, owner, CAPABILITIES)
    client = signed_in(owner)
    for query in [NUL_QUERY, *IMPOSSIBLE_DATES]:
        response = client.get(path + query)
        assert response.status_code < 500, f"GET {path}{query} → {response.status_code}"
    response = client.post(path, {key: "a\x00b" for key in FIELDS})
    assert response.status_code < 500, f"POST {path} with NUL → {response.status_code}"
    response = client.post(
        path, data=OVER_THE_LIMIT, content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code < 500, f"POST {path} over the limit → {response.status_code}"
