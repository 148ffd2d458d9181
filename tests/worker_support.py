"""Real Celery workers for the tests of crash-proof background work.

Each worker is a separate `celery -A portal worker` process on the Redis broker and the
test's PostgreSQL database (it shares nothing else with the test process), on a queue of
its own per test, so tests running in parallel never take each other's tasks. Tests send
tasks with `send` (by name, as another machine would) and kill workers with SIGKILL.

PostgreSQL only: the workers must see what the test committed (`.ci/run`'s second pass
runs these). Without Redis at 127.0.0.1:6379 they skip, saying so (`.ci/run` starts it).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from celery import Celery
from django.conf import settings
from django.db import connection

from core.models import WorkerHeartbeat
from portal.settings.background import embedded_broker

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/7")


def redis_available() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def wait_for(condition: Callable[[], Any], *, timeout: float, step: float = 0.1) -> Any:
    """Poll until `condition()` is truthy; its value, or a failed test after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"still waiting after {timeout} s")
        time.sleep(step)


@dataclass
class Worker:
    process: subprocess.Popen
    log: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def lease_owner(self) -> str:
        return f"{socket.gethostname()}:{self.pid}"

    def kill(self) -> None:
        """SIGKILL to the worker and its children (its embedded scheduler): no shutdown
        code runs, as when a machine is lost."""
        self.signal_group(signal.SIGKILL)
        self.process.wait(timeout=10)

    def signal_group(self, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signum)  # its own session: pgid == pid

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]


class PrivateRedis:
    """A Redis server of the test's own, on a free port, that the test may stop and start
    again (the shared one at 6379 serves every other test)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.folder),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(self._answers, timeout=10, step=0.05)

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        """As `redis-cli shutdown nosave`: gone, with everything it held."""
        if self.process is not None:
            self.process.kill()
            self.process.wait(10)
            self.process = None


class Workers:
    """`broker="redis"` as in production; `"embedded"` as `make run` (a SQLite file)."""

    def __init__(
        self,
        tmp_path: Path,
        *,
        broker: str = "redis",
        queue: str = "",
        redis_url: str = REDIS_URL,
    ) -> None:
        self.tmp_path = tmp_path
        self.queue = queue or f"test-{uuid.uuid4().hex[:12]}"
        self.started: list[Worker] = []
        if broker == "redis":
            self.producer = Celery("tests", broker=redis_url, set_as_current=False)
            broker_env = {"REDIS_URL": redis_url}
        else:
            folder = tmp_path / "broker"
            url, options = embedded_broker(folder)
            self.producer = Celery("tests", broker=url, set_as_current=False)
            self.producer.conf.broker_transport_options = options
            # make run's settings: DEBUG, no broker configured, the embedded broker.
            broker_env = {
                "DEBUG": "1",
                "CELERY_TASK_ALWAYS_EAGER": "0",
                "CELERY_BROKER_FOLDER": str(folder),
            }
        self.producer.conf.task_default_queue = self.queue
        self.env = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": os.environ.get("HOME", "/tmp"),
            "PYTHONUNBUFFERED": "1",
            "PORTAL_ENV_FILE": str(tmp_path / "none.env"),  # never the developer's .env
            "DJANGO_SETTINGS_MODULE": "portal.settings.test",
            "SECRET_KEY": settings.SECRET_KEY,
            "VAULT_KEYS": settings.VAULT_KEYS,
            "DATABASE_URL": database_url_of_tests(),
            **broker_env,
            "CELERY_QUEUE": self.queue,
            "OPENAI_MAX_RETRIES": "0",
            # Short leases and a frequent resume job, so a dead worker is noticed in seconds.
            "RUN_LEASE_SECONDS": "3",
            "RUN_RESUME_EVERY_SECONDS": "1",
            "REFRESH_JITTER_SECONDS": "0.5",
        }

    def start(
        self, count: int = 1, *, beat: bool = False, concurrency: int = 8, **env: str
    ) -> list[Worker]:
        """Start `count` workers (each with its own scheduler when `beat`) and wait until
        each has said it is alive."""
        new = []
        for _ in range(count):
            index = len(self.started) + 1
            log = self.tmp_path / f"worker-{index}.log"
            command = [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "portal",
                "worker",
                "--hostname",
                f"w{index}-{self.queue}@%h",
                "--concurrency",
                str(concurrency),
                "--without-gossip",
                "--without-mingle",
                "--loglevel",
                "WARNING",
            ]
            if beat:
                command += ["--beat", "--schedule", str(self.tmp_path / f"beat-{index}")]
            process = subprocess.Popen(
                command,
                cwd=settings.BASE_DIR,
                env={
                    **self.env,
                    # As the test set them (the model fixture, a short token timeout).
                    "OPENAI_BASE_URL": settings.OPENAI_BASE_URL,
                    "OPENAI_API_KEY": settings.OPENAI_API_KEY,
                    "PROVIDER_TOKEN_TIMEOUT_SECONDS": str(settings.PROVIDER_TOKEN_TIMEOUT_SECONDS),
                    **env,
                },
                stdout=log.open("w"),
                stderr=subprocess.STDOUT,
                start_new_session=True,  # a process group of its own, children included
            )
            worker = Worker(process, log)
            self.started.append(worker)
            new.append(worker)
        for worker in new:
            wait_for(lambda w=worker: self._alive(w), timeout=60, step=0.2)
        return new

    def _alive(self, worker: Worker) -> bool:
        if worker.process.poll() is not None:
            pytest.fail(f"worker exited:\n{worker.output()}")
        return WorkerHeartbeat.objects.filter(pid=worker.pid).exists()

    def send(self, task: str, *args: Any, **kwargs: Any) -> None:
        self.producer.send_task(task, args=list(args), kwargs=kwargs, queue=self.queue)

    def holding(self, run) -> Worker:
        """The worker whose lease the run is under."""
        run.refresh_from_db()
        return next(w for w in self.started if w.lease_owner == run.lease_owner)

    def stop(self) -> None:
        for worker in self.started:
            worker.signal_group(signal.SIGTERM)
        for worker in self.started:
            with contextlib.suppress(subprocess.TimeoutExpired):
                worker.process.wait(timeout=15)
            worker.signal_group(signal.SIGKILL)  # whatever is left of the group
        try:
            with self.producer.connection_for_write() as broker:
                broker.default_channel.queue_delete(self.queue)
        except Exception:  # best effort: the queue name is never used again
            pass


def _cannot_run(why: str) -> None:
    # .ci/run's PostgreSQL pass sets REQUIRE_WORKER_TESTS: there, a skip would hide a failure.
    if os.environ.get("REQUIRE_WORKER_TESTS") == "1":
        pytest.fail(why)
    pytest.skip(why)


@pytest.fixture
def workers(transactional_db, tmp_path):
    if connection.vendor != "postgresql":
        _cannot_run("real workers share the test database: PostgreSQL only (.ci/run's 2nd pass)")
    if not redis_available():
        _cannot_run("Redis is not running at 127.0.0.1:6379 (.ci/run starts it)")
    pool = Workers(tmp_path)
    yield pool
    pool.stop()


@pytest.fixture
def private_redis(tmp_path):
    if not shutil.which("redis-server"):
        _cannot_run("redis-server is not installed (.ci/run installs it)")
    server = PrivateRedis(tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def workers_on_private_redis(transactional_db, tmp_path, private_redis):
    """Workers whose broker is a Redis the test may restart."""
    if connection.vendor != "postgresql":
        _cannot_run("real workers share the test database: PostgreSQL only (.ci/run's 2nd pass)")
    pool = Workers(tmp_path, redis_url=private_redis.url)
    yield pool
    pool.stop()


@pytest.fixture
def local_workers(transactional_db, tmp_path):
    """Workers as `make run` starts them: the embedded broker, nothing to install."""
    if connection.vendor != "postgresql":
        _cannot_run("real workers share the test database: PostgreSQL only (.ci/run's 2nd pass)")
    pool = Workers(tmp_path, broker="embedded")
    yield pool
    pool.stop()


@dataclass
class WebProcess:
    """The portal's web tier as production runs it (uvicorn, DEBUG off, Redis as cache and
    broker), in a process of its own."""

    process: subprocess.Popen
    log: Path
    origin: str

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]

    def stop(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            self.process.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=15)
        with contextlib.suppress(ProcessLookupError):
            self.process.kill()


def collected_static(folder: Path) -> Path:
    """`collectstatic` as a release does (production serves the manifest's files)."""
    root = folder / "static"
    if not (root / "staticfiles.json").exists():
        subprocess.run(
            [sys.executable, "manage.py", "collectstatic", "--no-input", "-v", "0"],
            cwd=settings.BASE_DIR,
            env={
                **os.environ,
                "DJANGO_SETTINGS_MODULE": "portal.settings.runtime",
                "DEBUG": "0",
                "STATIC_ROOT": str(root),
                "SECRET_KEY": settings.SECRET_KEY * 2,
                "VAULT_KEYS": settings.VAULT_KEYS,
                "PORTAL_BASE_URL": "http://127.0.0.1",
                "REDIS_URL": "redis://127.0.0.1:1/0",
                "PORTAL_ENV_FILE": str(folder / "none.env"),
            },
            check=True,
            timeout=300,
        )
    return root


def start_web(tmp_path: Path, *, redis_url: str, database_url: str, **env: str) -> WebProcess:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    origin = f"http://127.0.0.1:{port}"
    log = tmp_path / "web.log"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "portal.asgi:application",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        cwd=settings.BASE_DIR,
        env={
            "PATH": os.environ.get("PATH", ""),
            "HOME": os.environ.get("HOME", "/tmp"),
            "PYTHONUNBUFFERED": "1",
            "PORTAL_ENV_FILE": str(tmp_path / "none.env"),  # never the developer's .env
            "DJANGO_SETTINGS_MODULE": "portal.settings.runtime",
            "DEBUG": "0",
            "SECRET_KEY": settings.SECRET_KEY,  # sessions made by the test are valid there
            "VAULT_KEYS": settings.VAULT_KEYS,
            "PORTAL_BASE_URL": origin,
            "ALLOWED_HOSTS": "127.0.0.1",
            "SECURE_SSL_REDIRECT": "0",
            "REDIS_URL": redis_url,
            "DATABASE_URL": database_url,
            "STATIC_ROOT": str(collected_static(tmp_path)),
            **env,
        },
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    web = WebProcess(process, log, origin)

    def answers() -> bool:
        if process.poll() is not None:
            pytest.fail(f"the web process exited:\n{web.output()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            return False

    wait_for(answers, timeout=60, step=0.2)
    return web


def database_url_of_tests(port: int | None = None) -> str:
    """The test database's URL, for another process (through `port`: a proxy in front)."""
    db = connection.settings_dict
    return (
        f"postgres://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:"
        f"{port or db['PORT'] or 5432}/{db['NAME']}"
    )
