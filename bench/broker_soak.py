"""The embedded broker under a soak (issue 24; PostgreSQL, as the workers share the test
database: DATABASE_URL=postgres://… .venv/bin/python -m bench.broker_soak).

1,000 agent runs (each one write in the sandbox) and their webhooks through `make run`'s
embedded SQLite broker while the worker is SIGKILLed and restarted 5 times; then what
was lost, done twice or left unknown, and how long it all took against the same runs
with no kill (the baseline, measured in the same run)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from bench.common import bench_database

RUNS = int(os.environ.get("BENCH_RUNS", "1000"))


def main() -> None:
    results = {}
    with bench_database():
        from portal.organizations import bootstrap_organization
        from tests.soak_support import soak
        from tests.worker_support import Workers

        for kills in (0, 5):
            org, owner, _ = bootstrap_organization(
                name=f"Soak {kills}", owner_email=f"o{kills}@soak.test"
            )
            workers = Workers(Path(tempfile.mkdtemp(prefix="bench-soak-")), broker="embedded")
            try:
                results[kills] = soak(workers, org, owner, runs=RUNS, kills=kills, kill_every=4)
            finally:
                workers.stop()
            print(f"{kills} kills: {results[kills]}", flush=True)
    base, killed = results[0], results[5]
    print(
        f"{RUNS} runs: {base.seconds:.1f} s without kills, {killed.seconds:.1f} s with 5 "
        f"(ratio {killed.seconds / base.seconds:.2f}); lost runs {killed.runs_lost}, "
        f"lost deliveries {killed.deliveries_lost}, writes twice {killed.writes_twice}, "
        f"writes unknown {killed.writes_unknown}, duplicate deliveries "
        f"{killed.duplicate_deliveries}"
    )


if __name__ == "__main__":
    main()
