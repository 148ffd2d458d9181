"""API keys: shown once, stored as a hash, revocable, optional expiry, last use recorded."""

from __future__ import annotations

import re
from datetime import timedelta

from django.utils import timezone
from rest_framework.test import APIClient

from portal.models import ApiKey
from tests.fixtures import signed_in

KEY_FORMAT = re.compile(r"^ap_([A-Za-z0-9]{8})_[A-Za-z0-9_-]{20,}$")


def _bearer(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


def _create(client, name="billing-backend", expires_at=""):
    response = client.post("/api-keys/", {"name": name, "expires_at": expires_at})
    keys = re.findall(r'value="(ap_[^"]+)"', response.content.decode())
    return response, (keys[0] if keys else None)


def test_an_admin_creates_a_key_shown_once_and_stored_as_a_hash(org, admin):
    client = signed_in(admin)
    response, plaintext = _create(client)
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    assert KEY_FORMAT.match(plaintext), plaintext
    key = ApiKey.objects.get()
    assert plaintext.split("_")[1] == key.prefix
    secret = plaintext.split("_", 2)[2]
    stored = " ".join(str(getattr(key, f.attname)) for f in ApiKey._meta.fields)
    assert secret not in stored and plaintext not in stored
    assert plaintext not in client.get("/api-keys/").content.decode()  # never shown again

    assert key.last_used_at is None
    assert _bearer(plaintext).get("/api/v1/organization").json()["name"] == org.name
    key.refresh_from_db()
    assert key.last_used_at is not None
    assert "just now" in client.get("/api-keys/").content.decode()


def test_revoked_and_expired_keys_answer_401(org, owner):
    client = signed_in(owner)
    _, plaintext = _create(client)
    key = ApiKey.objects.get()
    assert client.post(f"/api-keys/{key.pk}/revoke/").status_code == 302
    revoked = _bearer(plaintext).get("/api/v1/organization")
    assert revoked.status_code == 401 and "revoked" in revoked.json()["error"]["message"]

    soon = (timezone.localtime() + timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M")
    _, expiring = _create(client, "short-lived", soon)
    assert _bearer(expiring).get("/api/v1/organization").status_code == 200
    ApiKey.objects.filter(name="short-lived").update(expires_at=timezone.now())
    expired = _bearer(expiring).get("/api/v1/organization")
    assert expired.status_code == 401 and "expired" in expired.json()["error"]["message"]


def test_bad_key_input_is_a_readable_error_and_creates_nothing(org, owner):
    client = signed_in(owner)
    blank, _ = _create(client, name="")
    assert "This field is required" in blank.content.decode()
    past = (timezone.localtime() - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    response = client.post("/api-keys/", {"name": "old", "expires_at": past}, follow=True)
    assert "must be in the future" in response.content.decode()
    assert not ApiKey.objects.exists()


def test_members_cannot_reach_the_keys_page(org, member, api_key):
    client = signed_in(member)
    assert client.get("/api-keys/").status_code == 404
    key = ApiKey.objects.get()
    assert client.post(f"/api-keys/{key.pk}/revoke/").status_code == 404
    key.refresh_from_db()
    assert key.revoked_at is None


def test_a_key_sees_only_its_own_organization(org, api, other_api, owner, other_owner):
    assert api.get("/api/v1/organization").json()["name"] == "Acme"
    assert other_api.get("/api/v1/organization").json()["name"] == "Globex"
    emails = {m["email"] for m in other_api.get("/api/v1/members").json()["results"]}
    assert owner.user.email not in emails and other_owner.user.email in emails
