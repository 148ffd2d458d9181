"""The portal's own time per agent step (run on PostgreSQL: DATABASE_URL=postgres://…).

Scripted runs against the OpenAI-compatible emulator and the monday emulator, both
in-process HTTP servers that record when they are busy. A run's timeline is cut at
each server request: the gap before a request (and, for the last one, the gap to
the end of the run) is the portal's time for that step — the runner, the SDK and
HTTP client, execute_tool, the vault, every AgentStep and audit write. Server time
is excluded; network and client time on the loopback are counted against the portal,
so the figure is an upper bound.

Baseline, same run: the bare openai SDK calling the same emulator (no portal), its
client-side time per call (wall minus server time). Target: the portal's median step
≤ 1.5 × the bare SDK call's median. Statements and commits per step are pinned in
tests/agents/test_step_statements.py.
"""

from __future__ import annotations

import os
import statistics
import time

from bench.common import bench_database, database_vendor, median_ms, p95_ms

RUNS = int(os.environ.get("BENCH_RUNS", "40"))
TOOL_CALLS_PER_RUN = int(os.environ.get("BENCH_TOOL_CALLS", "3"))
TOOLS = ["monday_get_me", "monday_list_boards", "monday_list_items"]


def scripted_model(request: dict):
    """Call a tool until the run has made TOOL_CALLS_PER_RUN of them, then answer."""
    from tests.fakes.openai_server import call, reply

    done = sum(1 for message in request["messages"] if message["role"] == "tool")
    if done >= TOOL_CALLS_PER_RUN:
        return reply("Done.")
    name = TOOLS[done % len(TOOLS)]
    return call(name, board_id="1001") if name == "monday_list_items" else call(name)


def portal_gaps(
    start: float, end: float, busy: list[tuple[float, float, str]]
) -> list[tuple[float, str]]:
    """The portal's time before each server request (and which server it went to);
    the tail after the last request joins the last step."""
    intervals = sorted(i for i in busy if i[0] >= start and i[1] <= end)
    gaps, cursor = [], start
    for begin, finish, server in intervals:
        gaps.append([begin - cursor, server])
        cursor = finish
    gaps[-1][0] += end - cursor
    return [(gap, server) for gap, server in gaps]


def main() -> None:
    with bench_database():
        from django.conf import settings

        from agents import configuration, runs
        from agents.models import AgentRun, RunStatus
        from bench.execute_overhead import setup_world
        from tests.fakes.openai_server import OpenAIServer, reply

        emulator, org, identifier, _ = setup_world()
        model = OpenAIServer().start()
        settings.OPENAI_BASE_URL = model.base_url
        settings.OPENAI_API_KEY = "sk-bench"
        agent = configuration.create_agent(org=org, name="Bench", max_steps=TOOL_CALLS_PER_RUN + 2)
        from portal.callers import Caller
        from portal.models import Membership

        caller = Caller.of_member(Membership.objects.get(user__email="owner@bench.test"))
        assert caller.identifier == identifier

        # Baseline: the bare SDK against the same emulator, interleaved with the runs
        # below (one bare call per model call of each run), so both see the same machine.
        import openai

        bare = openai.OpenAI(base_url=model.base_url, api_key="sk-bench", max_retries=0)
        baseline = []

        def bare_calls(count: int) -> list[float]:
            samples = []
            for _ in range(count):
                model.queue(reply("hi"))
                model.busy.clear()
                started = time.perf_counter()
                bare.chat.completions.create(
                    model="gpt-4o", messages=[{"role": "user", "content": "hi"}]
                )
                wall = time.perf_counter() - started
                samples.append(wall - sum(b - a for a, b in model.busy))
            return samples

        # Warm-up run, then the measured runs.
        per_step: list[float] = []
        before_model: list[float] = []
        before_tool: list[float] = []
        per_run_wall: list[float] = []
        by_position: dict[int, list[float]] = {}
        for index in range(RUNS + 1):
            bare_samples = bare_calls(TOOL_CALLS_PER_RUN + 1)
            model.queue(*[scripted_model] * (TOOL_CALLS_PER_RUN + 1))
            model.busy.clear()
            emulator.busy.clear()
            started = time.perf_counter()
            run = runs.start_run(agent=agent, prompt="Check my boards", caller=caller)
            finished = time.perf_counter()
            run = AgentRun.objects.get(pk=run.pk)
            assert run.status == RunStatus.SUCCEEDED, run.status_reason
            steps = run.steps.count()
            busy = [(*b, "model") for b in model.busy] + [(*b, "tool") for b in emulator.busy]
            gaps = portal_gaps(started, finished, busy)
            assert len(gaps) == steps, (len(gaps), steps)
            if index:
                per_step.extend(gap for gap, _ in gaps)
                before_model.extend(gap for gap, server in gaps if server == "model")
                before_tool.extend(gap for gap, server in gaps if server == "tool")
                per_run_wall.append(finished - started)
                for position, (gap, _) in enumerate(gaps):
                    by_position.setdefault(position, []).append(gap)
                baseline.extend(bare_samples)
        model.stop()
        emulator.stop()

        print(f"database: {database_vendor()}")
        print(
            f"runs: {RUNS}, each {TOOL_CALLS_PER_RUN + 1} model calls + {TOOL_CALLS_PER_RUN} tool "
            f"calls = {len(per_step)} steps measured"
        )
        print(f"run wall time: median {statistics.median(per_run_wall) * 1000:.1f} ms")
        print(
            f"portal time per step: median {median_ms(per_step):.2f} ms, "
            f"p95 {p95_ms(per_step):.2f} ms"
        )
        print(
            f"  of which steps ending in a model call: median {median_ms(before_model):.2f} ms; "
            f"in a tool call: median {median_ms(before_tool):.2f} ms"
        )
        print(
            "  by position in the run (first carries the start, last the end): "
            + ", ".join(f"{median_ms(by_position[p]):.2f}" for p in sorted(by_position))
        )
        print(
            f"baseline, bare openai SDK client time per call: median {median_ms(baseline):.2f} ms"
        )
        ratio = median_ms(per_step) / median_ms(baseline)
        print(f"ratio portal step / bare SDK call: {ratio:.2f} (target <= 1.5)")


if __name__ == "__main__":
    main()
