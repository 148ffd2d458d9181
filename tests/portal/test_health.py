"""The health check for load balancers: no sign-in, no tenant data, just the state."""

from __future__ import annotations


def test_the_health_check_answers_ok_without_signing_in(client, db):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


def test_the_health_check_only_reads(client, db):
    assert client.post("/healthz").status_code == 405
