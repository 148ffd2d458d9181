"""The health check for load balancers: no sign-in, no tenant data, just the state."""

from __future__ import annotations


def test_the_health_check_answers_ok_without_signing_in(client, db):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "cache": "ok", "broker": "ok"}


def test_the_health_check_only_reads(client, db):
    assert client.post("/healthz").status_code == 405


def test_with_workers_1_it_wants_a_live_worker(client, db):
    from datetime import timedelta

    from django.utils import timezone

    from core.models import WorkerHeartbeat

    assert client.get("/healthz?workers=1").status_code == 503
    silent = timezone.now() - timedelta(minutes=5)
    WorkerHeartbeat.objects.create(
        worker_id="old:1", hostname="old", pid=1, started_at=silent, last_seen=silent
    )
    assert client.get("/healthz?workers=1").json() == {
        "status": "unavailable",
        "database": "ok",
        "cache": "ok",
        "broker": "ok",
        "workers": 0,
    }
    now = timezone.now()
    WorkerHeartbeat.objects.create(
        worker_id="w:2", hostname="w", pid=2, started_at=now, last_seen=now
    )
    response = client.get("/healthz?workers=1")
    assert response.status_code == 200 and response.json()["workers"] == 1
