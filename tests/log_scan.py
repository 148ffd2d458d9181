"""Secrets never reach a log (issue 28): every log record of the whole run — each xdist
worker's and the main process's — is written to a file, and when the run ends the main
process scans them all for the secrets tests handle: emulator-issued access and refresh
tokens, portal API keys, webhook and hook signing secrets, the OAuth client secret and
the model API key. A hit fails the run and names the logger that wrote it."""

from __future__ import annotations

import logging
import os
import re
import shutil
import tempfile
from pathlib import Path

import pytest

from tests.agent_support import OPENAI_KEY
from tests.fakes.credentials import CLIENT_SECRET

SECRETS = re.compile(
    "|".join(
        [
            r"\b[ar]t-[a-z0-9]+-[A-Za-z0-9_-]{24,}",  # emulators' access / refresh tokens
            r"\bap_(?:test_)?[a-z0-9]{8}_[A-Za-z0-9_-]{20,}",  # portal API keys
            r"whsec_[A-Za-z0-9+/]{20,}",  # webhook and policy-hook secrets
            re.escape(CLIENT_SECRET),
            re.escape(OPENAI_KEY),
        ]
    )
)
DIRECTORY = "PORTAL_LOG_SCAN_DIR"


class ToFile(logging.Handler):
    def __init__(self, path: Path) -> None:
        super().__init__(level=logging.DEBUG)
        self.stream = path.open("a", encoding="utf-8", errors="replace")

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = record.getMessage()
            if record.exc_info:
                text += "\n" + logging.Formatter().formatException(record.exc_info)
            self.stream.write(f"{record.name}\t{text}\n\x00\n")
            self.stream.flush()
        except Exception:  # a record that cannot be formatted is not this check's business
            pass


def pytest_configure(config: pytest.Config) -> None:
    if DIRECTORY not in os.environ:  # the main process: workers inherit the directory
        os.environ[DIRECTORY] = tempfile.mkdtemp(prefix="portal-logs-")


_handler: ToFile | None = None


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Attached before each test: Django's logging set-up (when it first runs, and any test
    that configures logging) replaces the root logger's handlers."""
    global _handler
    if _handler is None:
        worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
        _handler = ToFile(Path(os.environ[DIRECTORY]) / f"{worker}.log")
    root = logging.getLogger()
    if _handler not in root.handlers:
        root.addHandler(_handler)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if os.environ.get("PYTEST_XDIST_WORKER"):
        return  # the main process scans every worker's file once all are done
    hits = []
    for path in sorted(Path(os.environ[DIRECTORY]).glob("*.log")):
        for entry in path.read_text(encoding="utf-8", errors="replace").split("\n\x00\n"):
            found = SECRETS.search(entry)
            if found:
                logger_name = entry.split("\t", 1)[0]
                hits.append(f"{path.name}: logger {logger_name}: …{found.group(0)[:12]}…")
    if hits:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(f"SECRETS IN LOGS ({len(hits)}):", red=True)
            for hit in hits[:20]:
                reporter.write_line("  " + hit, red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    shutil.rmtree(os.environ[DIRECTORY], ignore_errors=True)
