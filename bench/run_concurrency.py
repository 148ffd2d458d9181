"""Agent runs at once on one worker process (run on PostgreSQL with Redis up:
DATABASE_URL=postgres://… and Redis at 127.0.0.1:6379).

RUNS runs are started together (start_run, as the API would: each queued on the Redis
broker); each makes 3 model calls that take MODEL_SECONDS at the OpenAI-compatible
emulator and 2 tool calls at the monday emulator. One `celery -A portal worker` process
(thread pool, WORKER_CONCURRENCY threads, DB_POOL_MAX_SIZE pooled connections) drives
them. Target: all finish within 10 s; worker RSS ≤ 500 MB; report p50/p95 run time and
the peak of PostgreSQL connections to the database.

Baseline, same run: one run alone on the same worker; RUNS × that is the serial time
(what one-task-at-a-time workers take), and the ratio wall / one run is 1.0 at best.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import threading
import time
from pathlib import Path

RUNS = int(os.environ.get("BENCH_RUNS", "100"))
MODEL_SECONDS = float(os.environ.get("BENCH_MODEL_SECONDS", "1.0"))
CONCURRENCY = os.environ.get("WORKER_CONCURRENCY", "100")
DB_POOL = os.environ.get("BENCH_DB_POOL", "20")
QUEUE = f"bench-{os.getpid()}"

# This process enqueues on Redis, like the web process in production.
os.environ["REDIS_URL"] = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/7")
os.environ["CELERY_QUEUE"] = QUEUE
os.environ["CELERY_TASK_ALWAYS_EAGER"] = "0"

from bench.common import bench_database, database_vendor  # noqa: E402


def policy(request: dict):
    """Three model calls per run: two ask for a tool, the third answers."""
    from tests.fakes.openai_server import call, reply

    time.sleep(MODEL_SECONDS)
    done = sum(1 for message in request["messages"] if message["role"] == "tool")
    return [call("monday_get_me"), call("monday_list_boards"), reply("Done.")][min(done, 2)]


def peak_connections(stop: threading.Event, out: list[int]) -> None:
    """Sample connections to this database every 20 ms (a connection of its own)."""
    import psycopg
    from django.db import connection

    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    with psycopg.connect(**params, autocommit=True) as watcher:
        while not stop.is_set():
            count = watcher.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            ).fetchone()[0]
            out.append(count - 1)  # not the watcher itself
            stop.wait(0.02)


def rss_mb(pid: int, field: str = "VmHWM") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def main() -> None:
    with bench_database():
        from django.conf import settings

        from agents import configuration
        from agents.models import AgentRun, RunStatus
        from agents.runs import start_run
        from bench.execute_overhead import setup_world
        from portal.callers import Caller
        from portal.models import Membership
        from tests.fakes.openai_server import OpenAIServer
        from tests.worker_support import Workers, wait_for

        emulator, org, _, _ = setup_world()
        model = OpenAIServer().start()
        model.answer_with(policy)
        settings.OPENAI_BASE_URL = model.base_url
        settings.OPENAI_API_KEY = "sk-bench"
        agent = configuration.create_agent(org=org, name="Bench", max_steps=5)
        caller = Caller.of_member(Membership.objects.get(user__email="owner@bench.test"))

        pool = Workers(Path(tempfile.mkdtemp(prefix="bench-workers-")), queue=QUEUE)
        pool.env["DB_POOL_MAX_SIZE"] = DB_POOL
        (worker,) = pool.start(1, concurrency=int(CONCURRENCY))
        try:

            def start(count: int) -> list:
                return [
                    start_run(agent=agent, prompt=f"Run {n}", caller=caller) for n in range(count)
                ]

            def all_finished(runs: list) -> bool:
                ids = [r.pk for r in runs]
                return not AgentRun.objects.filter(pk__in=ids, finished_at__isnull=True).exists()

            # Baseline: one run alone.
            began = time.monotonic()
            alone = start(1)
            wait_for(lambda: all_finished(alone), timeout=60, step=0.01)
            one_run = time.monotonic() - began

            samples: list[int] = []
            stop = threading.Event()
            watcher = threading.Thread(target=peak_connections, args=(stop, samples))
            watcher.start()
            began = time.monotonic()
            runs = start(RUNS)
            enqueued = time.monotonic() - began
            wait_for(lambda: all_finished(runs), timeout=600, step=0.05)
            wall = time.monotonic() - began
            stop.set()
            watcher.join()
            peak_rss = rss_mb(worker.pid)
        finally:
            pool.stop()
            model.stop()
            emulator.stop()

        done = list(AgentRun.objects.filter(pk__in=[r.pk for r in runs]))
        statuses = {status: sum(r.status == status for r in done) for status in RunStatus.values}
        durations = sorted((r.finished_at - r.created_at).total_seconds() for r in done)
        print(f"database: {database_vendor()}; broker: Redis; one worker process")
        print(
            f"runs: {RUNS} started at once, each 3 model calls at {MODEL_SECONDS:.1f} s + "
            f"2 tool calls; worker threads {CONCURRENCY}, DB pool {DB_POOL}"
        )
        print(f"outcomes: { {k: v for k, v in statuses.items() if v} }")
        print(f"enqueueing {RUNS} runs took {enqueued:.2f} s")
        print(f"all finished in {wall:.2f} s (target <= 10 s)")
        print(
            f"run time (created -> finished): p50 {statistics.median(durations):.2f} s, "
            f"p95 {statistics.quantiles(durations, n=20)[-1]:.2f} s"
        )
        print(f"worker peak RSS: {peak_rss:.0f} MB (target <= 500 MB)")
        print(f"peak PostgreSQL connections to the database: {max(samples)}")
        print(
            f"baseline, one run alone: {one_run:.2f} s; serial for {RUNS}: {one_run * RUNS:.0f} s"
        )
        print(f"ratio wall / one run alone: {wall / one_run:.2f} (1.0 = perfectly parallel)")


if __name__ == "__main__":
    main()
