"""Background work: Celery, the periodic jobs, agent runs' leases, outbound webhooks."""

import os
from pathlib import Path

from portal.settings.base import BASE_DIR, env_bool, env_list

# --- Background work (Celery) --------------------------------------------------
# README "Production": Redis in production; the embedded SQLite broker for `make run` (nothing
# to install; runtime.py); tasks run in-process while testing (test.py), unless a test
# starts real workers.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL") or os.environ.get("REDIS_URL", "")
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
# Without a socket timeout kombu waits forever on a Redis that accepts and never answers
# (a failover, a dead NAT entry): a publish, or the broker check before a run starts, would
# hang the request. 2 s each (a worker's BRPOP loop is not bound by it: kombu's own
# health check drops an overdue one).
CELERY_BROKER_TRANSPORT_OPTIONS: dict = (
    {"socket_timeout": 2, "socket_connect_timeout": 2}
    if CELERY_BROKER_URL.startswith(("redis://", "rediss://"))
    else {}
)
BROKER_FOLDER = Path(os.environ.get("CELERY_BROKER_FOLDER") or BASE_DIR / "var" / "broker")


def embedded_broker(folder: Path) -> tuple[str, dict]:
    """`make run`'s broker: a SQLite file in `folder` through kombu's SQLAlchemy transport
    (portal/broker.py says why not the filesystem transport). Nothing to install."""
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqla+sqlite:///{folder / 'broker.sqlite3'}", {"polling_interval": 0.2}


# One queue per installation by default; tests that start real workers use their own.
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("CELERY_QUEUE", "celery")
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True  # a task taken by a worker that dies is delivered again
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# On a lost broker connection, in-flight tasks run on: runs and refreshes hold leases and
# claims of their own in PostgreSQL (portal/broker.py says what happens to their acks).
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = False
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Publishing (web processes queueing runs, webhook senders) gives up fast when the broker
# is away: the work's recovery job queues it again (core/dependencies.py).
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.5,
    "interval_max": 0.5,
}
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BEAT_SCHEDULE_FILENAME = str(BASE_DIR / "var" / "celerybeat-schedule")
# How many tasks (agent runs, refreshes, deliveries) one worker process runs at once:
# they wait on models and providers, so threads, many of them.
WORKER_CONCURRENCY = int(os.environ.get("WORKER_CONCURRENCY", "100"))
CELERY_WORKER_CONCURRENCY = WORKER_CONCURRENCY
CELERY_WORKER_POOL = "threads"
# Each kind of work has its own share of those threads (core/bulkheads.py), so slow
# webhook endpoints cannot starve agent runs or refreshes: `runs=60,upkeep=20,webhooks=15`.
WORKER_BULKHEADS = {
    "runs": max(1, WORKER_CONCURRENCY * 60 // 100),
    "upkeep": max(1, WORKER_CONCURRENCY * 20 // 100),
    "webhooks": max(1, WORKER_CONCURRENCY * 15 // 100),
} | {
    kind: int(size)
    for kind, _, size in (entry.partition("=") for entry in env_list("WORKER_BULKHEADS", ""))
}

# Agent runs: a worker holds a lease on the run it drives and renews it while it works;
# a run whose lease lapsed is resumed by another worker (agents/leases.py).
RUN_LEASE_SECONDS = float(os.environ.get("RUN_LEASE_SECONDS", "30"))
RUN_RESUME_EVERY_SECONDS = float(os.environ.get("RUN_RESUME_EVERY_SECONDS", "15"))
# A run still queued after this long lost its message (a killed worker had taken it).
RUN_REQUEUE_AFTER_SECONDS = float(os.environ.get("RUN_REQUEUE_AFTER_SECONDS", "60"))
RUN_WALL_CLOCK_LIMIT_SECONDS = float(os.environ.get("RUN_WALL_CLOCK_LIMIT_SECONDS", "1800"))

# Periodic jobs (core.jobs runs each one at a time), interval in seconds.
PERIODIC_JOBS = {
    "refresh_due_tokens": (
        "connections.tasks.refresh_due_tokens",
        float(os.environ.get("TOKEN_REFRESH_EVERY_SECONDS", "60")),
    ),
    "keep_tokens_alive": ("connections.tasks.keep_tokens_alive", 3600),
    "resume_stalled_runs": ("agents.tasks.resume_stalled_runs", RUN_RESUME_EVERY_SECONDS),
    "prune_authorizations": ("connections.tasks.prune_authorization_requests", 600),
    "close_stale_intents": ("audit.tasks.close_stale_intents", 300),
    # Gives new audit events their place in their chain (audit/sequencer.py): the most an
    # event waits to be chained.
    "sequence_audit": (
        "audit.tasks.sequence_audit",
        float(os.environ.get("AUDIT_SEQUENCE_EVERY_SECONDS", "1")),
    ),
    "prune_audit": ("audit.tasks.prune_audit", 86400),
    "prune_mcp_clients": ("mcpserver.tasks.prune_mcp_clients", 3600),
    "prune_stored_results": ("connections.tasks.prune_stored_results", 86400),
    "prune_usage": ("connections.tasks.prune_usage", 86400),
    "prune_approval_links": ("agents.tasks.prune_approval_links", 86400),
    "dispatch_webhooks": (
        "webhooks.tasks.dispatch_webhooks",
        float(os.environ.get("WEBHOOK_DISPATCH_EVERY_SECONDS", "10")),
    ),
    "prune_webhooks": ("webhooks.tasks.prune_webhooks", 86400),
}

# Outbound webhooks (webhooks/): Standard Webhooks signing, at-least-once delivery.
WEBHOOK_TIMEOUT_SECONDS = float(os.environ.get("WEBHOOK_TIMEOUT_SECONDS", "10"))
# Seconds before each retry (±10 % jitter); after the last, the delivery fails.
WEBHOOK_RETRY_SCHEDULE = [
    float(s) for s in env_list("WEBHOOK_RETRY_SCHEDULE", "5,300,1800,7200,18000,36000")
]
# Requests in flight at once to one endpoint (one sender per endpoint).
WEBHOOK_ENDPOINT_CONCURRENCY = int(os.environ.get("WEBHOOK_ENDPOINT_CONCURRENCY", "4"))
WEBHOOK_DISABLE_AFTER_DAYS = float(os.environ.get("WEBHOOK_DISABLE_AFTER_DAYS", "3"))
CELERY_BEAT_SCHEDULE = {
    name: {"task": task, "schedule": float(seconds)}
    for name, (task, seconds) in PERIODIC_JOBS.items()
}
