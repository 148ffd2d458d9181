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


def test_while_redis_hangs_health_checks_share_one_question_rather_than_queue(settings):
    from core.dependencies import redis_report
    from tests.fakes.tcp_proxy import TcpProxy

    hung = TcpProxy(1).start()  # accepts, never answers
    hung.hang()
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{hung.port}/0",
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
    try:
        first, second = redis_report(), redis_report()
        assert second is first  # asked once
        assert first.result(timeout=5)["cache"] == "unreachable"
        again = redis_report()
        assert again is not first  # answered: the next check asks again
        again.result(timeout=5)  # done before the cache settings go back
    finally:
        hung.stop()
