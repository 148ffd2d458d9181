"""`make run`'s serving half: the web server, a Celery worker (with its scheduler) that is
started again whenever it exits, and one clear block printed last, once the portal answers.

    python -m portal.devserver --port 8000
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request

READY_TIMEOUT_SECONDS = 90
RESTART_DELAYS = (1, 2, 5, 10, 30)


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - our own URL
            return response.status < 500
    except OSError as exc:
        return getattr(exc, "code", 500) < 500


class Supervised:
    """A worker process kept running: when it exits, say so and start it again."""

    def __init__(self, command: list[str], env: dict[str, str]) -> None:
        self.command, self.env = command, env
        self.process: subprocess.Popen | None = None
        self.stopping = threading.Event()

    def run(self) -> None:
        failures = 0
        while not self.stopping.is_set():
            started = time.monotonic()
            self.process = subprocess.Popen(self.command, env=self.env)  # noqa: S603 - ours
            code = self.process.wait()
            if self.stopping.is_set():
                return
            failures = 0 if time.monotonic() - started > 60 else failures + 1
            delay = RESTART_DELAYS[min(failures, len(RESTART_DELAYS) - 1)]
            print(
                f"\n!! The background worker exited (code {code}); starting it again in "
                f"{delay} s. Runs and webhooks wait meanwhile; nothing queued is lost.\n",
                flush=True,
            )
            self.stopping.wait(delay)

    def stop(self) -> None:
        self.stopping.set()
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", default="8000")
    parser.add_argument("--owner", default="owner@acme.test / acme-demo-password")
    parser.add_argument("--member", default="member@acme.test / acme-member-password")
    args = parser.parse_args()
    origin = f"http://127.0.0.1:{args.port}"
    # Links made outside a request (reconnect links in runs) need the portal's own URL.
    env = {**os.environ, "PORTAL_BASE_URL": os.environ.get("PORTAL_BASE_URL") or origin}
    worker = Supervised(
        [
            sys.executable, "-m", "celery", "-A", "portal", "--quiet", "worker", "--beat",
            "--loglevel", "WARNING", "--schedule", "var/celerybeat-schedule",
        ],
        env,
    )  # fmt: skip
    threading.Thread(target=worker.run, daemon=True).start()
    server = subprocess.Popen(  # noqa: S603 - a fixed command
        [
            sys.executable, "-m", "uvicorn", "portal.asgi:application", "--host", "127.0.0.1",
            "--port", str(args.port), "--log-level", "warning",
        ],
        env=env,
    )  # fmt: skip

    def stop(*_: object) -> None:
        worker.stop()
        if server.poll() is None:
            server.terminate()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while server.poll() is None and not _answers(f"{origin}/healthz"):
        if time.monotonic() > deadline:
            print(f"!! The portal did not answer at {origin} within {READY_TIMEOUT_SECONDS} s.")
            break
        time.sleep(0.3)
    if server.poll() is None:
        line = "─" * 72
        print(
            f"\n{line}\n  Agent Portal is ready: {origin}/\n"
            f"  Sign in as the owner   {args.owner}\n"
            f"  or as a member         {args.member}  (sees less of the sandbox)\n"
            f"  MCP clients            {origin}/mcp   (Claude, Cursor, MCP Inspector…)\n"
            f"  API docs               {origin}/api/docs/\n"
            "  Emails (sign-up, invitations, password resets) are printed here.\n"
            f"  Ctrl-C stops the portal and its worker.\n{line}\n",
            flush=True,
        )
    code = server.wait()
    worker.stop()
    return code


if __name__ == "__main__":
    sys.exit(main())
