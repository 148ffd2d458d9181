"""Settings come from the environment (or an env file) in one place; production start-up
refuses missing secrets; `check --deploy` leaves only the warning the README explains."""

from __future__ import annotations

import base64
import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

MANAGE = str(Path(settings.BASE_DIR) / "manage.py")


def _vault_keys() -> str:
    return "k1:" + base64.b64encode(os.urandom(32)).decode()


def _production(tmp_path, **overrides: str) -> dict[str, str]:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", "/tmp"),
        "PORTAL_ENV_FILE": str(tmp_path / "missing.env"),  # never the developer's .env
        "DEBUG": "0",
        "DJANGO_SETTINGS_MODULE": "portal.settings.runtime",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "VAULT_KEYS": _vault_keys(),
        "ALLOWED_HOSTS": "portal.example.com",
        "PORTAL_BASE_URL": "https://portal.example.com",
        "REDIS_URL": "redis://127.0.0.1:6379/0",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
    }
    env.update(overrides)
    return {key: value for key, value in env.items() if value is not None}


def _manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, MANAGE, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=settings.BASE_DIR,
    )


@pytest.mark.parametrize("missing", ["SECRET_KEY", "VAULT_KEYS", "PORTAL_BASE_URL", "REDIS_URL"])
def test_production_start_up_refuses_a_missing_secret(tmp_path, missing):
    result = _manage(_production(tmp_path, **{missing: None}), "check")
    assert result.returncode != 0
    assert f"{missing} is not set" in result.stderr


def test_check_deploy_leaves_only_the_hsts_preload_warning(tmp_path):
    result = _manage(_production(tmp_path), "check", "--deploy")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "security.W021" in output and "1 issue" in output


def test_an_env_file_is_read_and_the_environment_wins(tmp_path):
    env_file = tmp_path / "portal.env"
    env_file.write_text(
        f"SECRET_KEY={secrets.token_urlsafe(50)}\n"
        f"VAULT_KEYS={_vault_keys()}\n"
        "ALLOWED_HOSTS=from-file.example.com\n"
    )
    env = _production(
        tmp_path,
        PORTAL_ENV_FILE=str(env_file),
        SECRET_KEY=None,
        VAULT_KEYS=None,
        ALLOWED_HOSTS="from-env.example.com",
    )
    script = (
        "from django.conf import settings; print(settings.ALLOWED_HOSTS, bool(settings.VAULT_KEYS))"
    )
    result = _manage(env, "shell", "-c", script)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "['from-env.example.com'] True"


def test_the_health_check_answers_503_when_the_database_is_down(tmp_path):
    # A PostgreSQL URL on a port where nothing listens: the database is unreachable.
    env = _production(tmp_path, DATABASE_URL="postgres://nobody@127.0.0.1:9/none")
    probe = (
        "from django.test import Client; r = Client().get('/healthz', HTTP_HOST='portal.example.com', "
        "secure=True); print(r.status_code, r.content.decode())"
    )
    result = _manage(env, "shell", "-c", probe)
    assert result.returncode == 0, result.stderr
    status, _, body = result.stdout.strip().splitlines()[-1].partition(" ")
    assert status == "503"
    assert json.loads(body) | {"status": "unavailable", "database": "unreachable"} == json.loads(
        body
    )
