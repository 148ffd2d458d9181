"""Soak of `make run`'s embedded broker (issue 24): runs and their webhook deliveries through
the SQLite broker while the worker is killed and restarted 5 times — nothing lost, no write
made twice. The long version, 1,000 runs, is `bench.broker_soak`."""

from __future__ import annotations

from tests.soak_support import soak


def test_runs_survive_five_worker_kills_on_the_embedded_broker(local_workers, org, owner):
    result = soak(local_workers, org, owner, runs=60, kills=5)
    assert result.runs_lost == 0 and result.deliveries_lost == 0, result
    assert result.writes_twice == 0, result
    # Each run wrote once, unless a kill cut its write mid-call: then its outcome is
    # recorded as unknown and the write is never sent again.
    assert result.writes_done + result.writes_unknown >= result.runs, result
