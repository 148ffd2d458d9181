"""The API framework: JSON errors with the right status everywhere, cursor pagination,
throttling with Retry-After, CSRF for browser sessions, OpenAPI and docs served locally."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from tests.factories import MembershipFactory


def _error(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, (response.status_code, response.content[:300])
    assert response["Content-Type"].startswith("application/json")
    error = response.json()["error"]
    assert set(error) >= {"code", "message"} and error["message"]
    if code:
        assert error["code"] == code
    return error


@pytest.mark.parametrize(
    "header",
    [None, "Bearer", "Bearer ap_nope", "Bearer ap_abcdefgh_wrongsecretwrongsecret", "Basic x:y"],
)
def test_missing_or_bad_credentials_are_401_json(db, header):
    client = APIClient()
    if header:
        client.credentials(HTTP_AUTHORIZATION=header)
    response = client.get("/api/v1/organization")
    _error(response, 401)
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_unknown_routes_and_objects_are_404_json(api):
    _error(api.get("/api/v1/no-such-thing"), 404)
    _error(api.get("/api/v1/connected-accounts/00000000-0000-0000-0000-000000000000"), 404)


def test_wrong_method_is_405_json(api):
    _error(api.delete("/api/v1/organization"), 405)


def test_malformed_json_is_400_json(api):
    response = api.post("/api/v1/connections", data="{not json", content_type="application/json")
    _error(response, 400)


def test_cursor_pagination_walks_every_member_once(org, owner, api):
    for _ in range(7):
        MembershipFactory(organization=org)
    seen, cursor, pages = [], None, 0
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        body = api.get("/api/v1/members", params).json()
        assert set(body) == {"results", "next_cursor"}
        seen += [m["email"] for m in body["results"]]
        pages += 1
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert pages == 3 and len(seen) == 8 == len(set(seen))


def test_an_invalid_cursor_is_400(api):
    _error(api.get("/api/v1/members", {"cursor": "garbage"}), 400, "validation_error")


def test_throttling_is_429_with_retry_after(api):
    from rest_framework.settings import api_settings

    from core.api.throttling import CallerRateThrottle

    rates = {**api_settings.DEFAULT_THROTTLE_RATES, "caller": "3/min"}
    original = CallerRateThrottle.THROTTLE_RATES
    CallerRateThrottle.THROTTLE_RATES = rates
    try:
        cache.clear()
        statuses = [api.get("/api/v1/organization").status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
        response = api.get("/api/v1/organization")
        error = _error(response, 429, "rate_limited")
        assert int(response["Retry-After"]) >= 1 and error["details"]["retry_after"] > 0
    finally:
        CallerRateThrottle.THROTTLE_RATES = original


def test_browser_sessions_authenticate_but_need_the_csrf_token(org, owner):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(owner.user)
    session = client.session
    session["organization_id"] = org.pk
    session.save()
    assert client.get("/api/v1/organization").status_code == 200
    refused = client.post("/api/v1/connections", {"name": "m", "provider": "monday"}, format="json")
    error = _error(refused, 403)
    assert "CSRF" in error["message"]


def test_a_signed_in_user_without_an_organization_is_refused(db):
    from tests.factories import UserFactory

    client = APIClient()
    client.force_login(UserFactory())
    _error(client.get("/api/v1/organization"), 403)


def test_openapi_schema_and_docs_are_served_without_a_cdn(db):
    client = APIClient()
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    spec = schema.json()
    assert spec["openapi"].startswith("3.")
    for path in ["/api/v1/organization", "/api/v1/tools/execute", "/api/v1/agents"]:
        assert path in spec["paths"]
    docs = client.get("/api/docs/")
    html = docs.content.decode()
    assert docs.status_code == 200 and "swagger" in html.lower()
    for cdn in ("cdn.", "unpkg", "jsdelivr", "cdnjs"):
        assert cdn not in html
