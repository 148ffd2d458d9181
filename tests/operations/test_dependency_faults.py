"""DESIGN §6: what the portal does when the parts it stands on fail — Redis restarted
under busy workers, Redis or PostgreSQL down under requests, dead holders of claims and
leases. Real processes (PostgreSQL and Redis; a private Redis the test may restart)."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import httpx2
import pytest
from django.db import connection
from django.utils import timezone

from agents.models import AgentRun, RunStatus
from audit.models import AuditEvent
from connections import tokens
from connections.errors import NeedsReauthorization
from connections.models import ConnectedAccount
from core.dependencies import Unavailable
from tests.agents.test_workers import finished, queued_run
from tests.callers import as_member, new_api_key
from tests.fakes.openai_server import reply
from tests.fakes.tcp_proxy import TcpProxy
from tests.fakes.webhook_receiver import WebhookReceiver
from tests.fixtures import signed_in
from tests.provider_support import seed_accounts
from tests.worker_support import database_url_of_tests, start_web, wait_for
from webhooks import endpoints
from webhooks.models import WebhookDelivery, WebhookEvent

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_broker_restart_is_survived_by_busy_workers(
    workers_on_private_redis, private_redis, agent, alice, model
):
    workers = workers_on_private_redis

    def slowly(request):
        time.sleep(3)
        return reply("Done after a while.")

    model.answer_with(slowly)
    (worker,) = workers.start(1, concurrency=4)
    busy = [queued_run(agent, alice, f"Run {n}") for n in range(3)]
    for run in busy:
        workers.send("agents.tasks.run_agent", str(run.pk))
    wait_for(lambda: len(model.requests) >= 3, timeout=30, step=0.05)

    private_redis.stop()  # while every run is in flight
    time.sleep(1)
    private_redis.start()

    for run in busy:
        done = wait_for(lambda run=run: finished(run), timeout=60, step=0.2)
        assert done.status == RunStatus.SUCCEEDED, done.status_reason
    time.sleep(3)  # where the worker used to die: after its runs finished
    assert worker.process.poll() is None, worker.output()

    model.answer_with(lambda request: reply("Still here."))
    after = queued_run(agent, alice, "After the restart")
    workers.send("agents.tasks.run_agent", str(after.pk))
    done = wait_for(lambda: finished(after), timeout=60, step=0.2)
    assert done.status == RunStatus.SUCCEEDED
    assert worker.process.poll() is None, worker.output()


# --- Redis and PostgreSQL away under requests ---------------------------------------------


@pytest.fixture
def database_proxy(transactional_db):
    if connection.vendor != "postgresql":
        pytest.skip("the web process needs the test database: PostgreSQL only")
    port = int(connection.settings_dict["PORT"] or 5432)
    proxy = TcpProxy(port).start()
    yield proxy
    proxy.stop()


@pytest.fixture
def redis_proxy(private_redis):
    proxy = TcpProxy(private_redis.port).start()
    yield proxy
    proxy.stop()


@pytest.fixture
def web(tmp_path, redis_proxy, database_proxy):
    process = start_web(
        tmp_path,
        redis_url=f"redis://127.0.0.1:{redis_proxy.port}/0",
        database_url=database_url_of_tests(database_proxy.port),
    )
    yield process
    process.stop()


def _timed(method: str, url: str, **kwargs) -> tuple[httpx2.Response, float]:
    started = time.monotonic()
    answer = httpx2.request(method, url, timeout=20, follow_redirects=False, **kwargs)
    return answer, time.monotonic() - started


@pytest.mark.parametrize("how", ["cut", "hang"])
def test_redis_away_never_turns_a_request_into_a_500(web, redis_proxy, owner, agent, how):
    key = new_api_key(owner)
    headers = {"Authorization": f"Bearer {key}"}
    assert httpx2.get(f"{web.origin}/api/v1/agents", headers=headers).status_code == 200

    getattr(redis_proxy, how)()
    time.sleep(2.1)  # past the broker answer the web process keeps for 2 s
    statuses = []
    for _ in range(3):
        for path in ("/api/v1/agents", "/api/v1/connections", "/api/v1/audit-events", "/"):
            answer, took = _timed("GET", web.origin + path, headers=headers)
            statuses.append(answer.status_code)
            assert took < 5, (path, took)
    assert statuses and max(statuses) < 500, statuses  # the throttle failed open

    run, took = _timed(
        "POST",
        f"{web.origin}/api/v1/agents/{agent.pk}/runs",
        headers=headers,
        json={"prompt": "Hello", "identifier": owner.user.identifier},
    )
    assert run.status_code == 503 and took < 5, (run.status_code, run.text)
    assert run.json()["error"]["code"] == "dependency_unavailable"
    assert run.headers["retry-after"]
    assert not AgentRun.objects.exists()  # nothing queued into nothing

    health = httpx2.get(f"{web.origin}/healthz").json()
    assert health["status"] == "degraded"
    assert health["cache"] == health["broker"] == "unreachable" and health["database"] == "ok"

    redis_proxy.restore()
    wait_for(lambda: httpx2.get(f"{web.origin}/healthz").json()["status"] == "ok", timeout=15)
    # No worker reports: a run is refused as such, rather than queued into nothing.
    refused = httpx2.post(
        f"{web.origin}/api/v1/agents/{agent.pk}/runs",
        headers=headers,
        json={"prompt": "Hello", "identifier": owner.user.identifier},
    )
    assert refused.status_code == 503
    assert refused.json()["error"]["code"] == "workers_unavailable"


@pytest.mark.parametrize("how", ["cut", "hang"])
def test_postgresql_away_answers_503_within_5_seconds(web, database_proxy, owner, how):
    key = new_api_key(owner)
    headers = {"Authorization": f"Bearer {key}"}
    assert httpx2.get(f"{web.origin}/api/v1/agents", headers=headers).status_code == 200
    browser = {"Cookie": f"sessionid={signed_in(owner).cookies['sessionid'].value}"}
    assert httpx2.get(f"{web.origin}/connected-accounts/", headers=browser).status_code == 200

    getattr(database_proxy, how)()
    for method, path, kwargs in (
        ("GET", "/api/v1/agents", {"headers": headers}),
        ("POST", "/api/v1/connections", {"headers": headers, "json": {"provider": "monday"}}),
        ("GET", "/healthz", {}),
        ("GET", "/connected-accounts/", {"headers": browser}),
        ("GET", "/", {"headers": browser}),
    ):
        answer, took = _timed(method, web.origin + path, **kwargs)
        assert answer.status_code == 503, (path, answer.status_code, answer.text[:300])
        assert took < 5.0, (path, took)
        if path.startswith("/api/"):
            assert answer.json()["error"]["code"] == "database_unavailable"
            assert answer.headers["retry-after"]

    database_proxy.restore()  # and the portal recovers by itself
    recovered_at = time.monotonic()
    wait_for(
        lambda: (
            httpx2.get(f"{web.origin}/api/v1/agents", headers=headers, timeout=15).status_code
            == 200
        ),
        timeout=60,
        step=0.5,
    )
    assert time.monotonic() - recovered_at < 30


def test_health_answers_within_5_seconds_when_every_dependency_hangs(
    web, database_proxy, redis_proxy
):
    """Its questions overlap: PostgreSQL's 3 s, the cache's 1 s and the broker's 2 s do not
    add up to more than the 5 s a load balancer gives it."""
    assert httpx2.get(f"{web.origin}/healthz").json()["status"] == "ok"
    database_proxy.hang()
    redis_proxy.hang()
    time.sleep(2.1)  # past the broker answer the web process keeps for 2 s
    answer, took = _timed("GET", f"{web.origin}/healthz")
    assert answer.status_code == 503, answer.text
    assert answer.json() == {
        "status": "unavailable",
        "database": "unreachable",
        "cache": "unreachable",
        "broker": "unreachable",
    }
    assert took < 5.0, took


# --- Dead holders --------------------------------------------------------------------------


def test_a_dead_refreshers_claim_is_taken_over_within_5_seconds(
    workers, org, provider_world, settings
):
    world = provider_world("github", connect=False)
    (account,) = seed_accounts(org, world.connection, world.emulator, 1, expires_in=30)
    asked = threading.Event()
    world.emulator.before_request = lambda method, path: (
        method == "POST" and ("token" in path and asked.set())
    )
    world.emulator.slow_next_token_requests(1, 60.0)  # the first refresh never comes back

    (holder,) = workers.start(1)
    workers.send("connections.tasks.refresh_accounts", [str(account.pk)])
    wait_for(asked.is_set, timeout=30)
    holder.kill()
    killed_at = time.monotonic()

    # A tool call needs the token now: it does not wait out a long fixed lifetime. (It
    # may be told to retry while the dead claim is still fresh: a retryable 503.)
    while True:
        try:
            tokens.get_access_token(ConnectedAccount.objects.get(pk=account.pk))
            break
        except NeedsReauthorization:
            break
        except Unavailable:
            assert time.monotonic() - killed_at < 15
            time.sleep(0.5)
    taken_over = time.monotonic() - killed_at
    assert taken_over < 8, taken_over  # ≤ 5 s to notice, plus the provider's answer
    unknown = AuditEvent.objects.get(action="connected_account.refresh_outcome_unknown")
    assert "stopped" in unknown.metadata["reason"]


def test_a_caller_waiting_on_a_live_refresh_gets_a_retryable_503_within_5_seconds(
    transactional_db, org, provider_world
):
    world = provider_world("github", connect=False)
    (account,) = seed_accounts(org, world.connection, world.emulator, 1, expires_in=30)
    world.emulator.slow_next_token_requests(1, 8.0)
    first = threading.Thread(target=lambda: _refresh_quietly(account))
    first.start()
    wait_for(lambda: ConnectedAccount.objects.get(pk=account.pk).refresh_claimed_by, timeout=5)

    started = time.monotonic()
    with pytest.raises(Unavailable) as waited:
        tokens.get_access_token(ConnectedAccount.objects.get(pk=account.pk))
    assert time.monotonic() - started < 6
    assert waited.value.code == "refresh_in_progress" and waited.value.details["retry_after"]
    first.join(20)


def _refresh_quietly(account) -> None:
    try:
        tokens.get_access_token(account)
    finally:
        connection.close()


def test_a_dead_webhook_senders_endpoint_is_served_again_within_seconds(
    workers, org, owner, tmp_path
):
    with WebhookReceiver() as receiver:
        endpoint, _ = endpoints.create_endpoint(
            caller=as_member(owner), url=receiver.url, event_types=[]
        )
        receiver.answer_next((200, 60))  # the first request never returns in time
        for n in range(3):
            event = WebhookEvent.objects.create(
                organization=org, type="webhook.test", payload={"type": "webhook.test", "n": n}
            )
            WebhookDelivery.objects.create(
                organization=org,
                event=event,
                endpoint=endpoint,
                next_attempt_at=timezone.now() - timedelta(seconds=1),
            )
        slow = {"WEBHOOK_ENDPOINT_CONCURRENCY": "1", "WEBHOOK_TIMEOUT_SECONDS": "120"}
        (sender,) = workers.start(1, **slow)
        workers.send("webhooks.tasks.deliver_endpoint", str(endpoint.pk))
        wait_for(lambda: receiver.received, timeout=30, step=0.05)
        workers.start(1, **slow)  # another worker, ready to take over
        sender.kill()
        killed_at = time.monotonic()

        def resend() -> bool:
            workers.send("webhooks.tasks.deliver_endpoint", str(endpoint.pk))
            return len(receiver.received) > 1

        wait_for(resend, timeout=20, step=1.0)
        assert time.monotonic() - killed_at < 7  # 5 s to notice, plus a try each second
