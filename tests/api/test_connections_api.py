"""Connections over the API: owners/admins' keys, secrets write-only."""

from connections.models import Connection

BODY = {
    "name": "monday",
    "provider": "monday",
    "client_id": "cid",
    "client_secret": "very-secret-value-123",
    "scopes": ["boards:read", "me:read"],
}


def test_create_then_read_never_returns_the_secret(api, org):
    created = api.post("/api/v1/connections", BODY, format="json")
    assert created.status_code == 201
    assert "very-secret-value-123" not in created.content.decode()
    assert created.json()["has_client_secret"] is True
    fetched = api.get("/api/v1/connections/monday")
    assert "very-secret-value-123" not in fetched.content.decode()
    assert fetched.json()["redirect_uri"].endswith("/oauth/callback/monday/")
    stored = Connection.objects.get()
    assert "very-secret-value-123" not in stored.client_secret_sealed
    assert stored.get_secret("client_secret_sealed") == "very-secret-value-123"


def test_duplicate_name_is_a_conflict(api, org):
    api.post("/api/v1/connections", BODY, format="json")
    response = api.post("/api/v1/connections", BODY, format="json")
    assert response.status_code == 409
    assert Connection.objects.count() == 1


def test_unknown_provider_and_scopes_are_refused(api, org):
    assert api.post(
        "/api/v1/connections", BODY | {"provider": "nope"}, format="json"
    ).status_code in (400, 422)
    response = api.post("/api/v1/connections", BODY | {"scopes": ["boards:fly"]}, format="json")
    assert response.status_code == 422
    assert Connection.objects.count() == 0


def test_plain_http_endpoints_are_allowed_only_for_loopback(api, org):
    remote = api.post(
        "/api/v1/connections", BODY | {"token_url": "http://auth.example.com/token"}, format="json"
    )
    assert remote.status_code == 422 and remote.json()["error"]["code"] == "insecure_url"
    local = api.post(
        "/api/v1/connections", BODY | {"token_url": "http://127.0.0.1:9999/token"}, format="json"
    )
    assert local.status_code == 201


def test_patch_updates_fields_and_replaces_the_secret(api, org):
    api.post("/api/v1/connections", BODY, format="json")
    response = api.patch(
        "/api/v1/connections/monday",
        {"enabled": False, "client_secret": "rotated-secret-456"},
        format="json",
    )
    assert response.status_code == 200 and response.json()["enabled"] is False
    assert Connection.objects.get().get_secret("client_secret_sealed") == "rotated-secret-456"


def test_delete_removes_the_connection(api, org):
    api.post("/api/v1/connections", BODY, format="json")
    assert api.delete("/api/v1/connections/monday").status_code == 204
    assert api.get("/api/v1/connections/monday").status_code == 404


def test_members_signed_in_may_not_manage_connections(member_client, org):
    response = member_client.post("/api/v1/connections", BODY, content_type="application/json")
    assert response.status_code == 403
    assert Connection.objects.count() == 0
