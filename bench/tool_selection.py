"""How well search finds the tool a person means, and what discovery saves (issue 25).

    .venv/bin/python -m bench.tool_selection

Over bench/tool_requests.py (labelled requests, every provider): recall@1 and recall@5 of
connections/search.py; the model-facing size of tool definitions per step, all tools vs
the discovery surface, with all 11 providers connected; search latency p50/p95 over the
real catalog and a synthetic one of 1,000 tools. Token counts are approximated as
ceil(characters / 4) of the JSON the model receives (no offline tokenizer ships here;
OpenAI's rule of thumb for English and JSON).
"""

from __future__ import annotations

import json
import math
import statistics
import time
from dataclasses import replace

from bench.common import bench_database
from bench.tool_requests import REQUESTS


def tokens(payload: object) -> int:
    return math.ceil(len(json.dumps(payload, separators=(",", ":"))) / 4)


def definition(tool) -> dict:
    return {
        "type": "function",
        "function": {
            "name": tool.name,
            "description": tool.description,
            "parameters": tool.model_schema,
        },
    }


def latency(index, queries: list[str], rounds: int = 5) -> tuple[float, float]:
    samples = []
    for _ in range(rounds):
        for query in queries:
            started = time.perf_counter()
            index.search(query, limit=5)
            samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(0.95 * len(samples)) - 1]


def main() -> None:
    with bench_database():
        from connections.discovery import DISCOVERY_TOOLS
        from connections.providers import providers
        from connections.search import ToolIndex, catalog_index

        index = catalog_index()
        top1 = top5 = 0
        misses = []
        for request, expected in REQUESTS:
            found = [m.tool.name for m in index.search(request, limit=5)]
            top1 += bool(found) and found[0] == expected
            top5 += expected in found
            if not found or found[0] != expected:
                misses.append((request, expected, found[:3]))
        n = len(REQUESTS)
        print(f"requests: {n} over {len(index.tools)} tools")
        print(f"recall@1: {top1 / n:.3f}   recall@5: {top5 / n:.3f}   (targets 0.8, 0.95)")
        for request, expected, found in misses[:12]:
            print(f"  miss: {request!r} → {found} (wanted {expected})")
        all_tools = [definition(t) for t in index.tools]
        print(
            f"definitions per step: all tools {tokens(all_tools)} tokens "
            f"({len(all_tools)} tools); discovery {tokens(DISCOVERY_TOOLS)} tokens "
            f"({len(DISCOVERY_TOOLS)} meta-tools; target ≤ 1,500)"
        )
        queries = [request for request, _ in REQUESTS]
        p50, p95 = latency(index, queries)
        print(f"search latency, real catalog: p50 {p50:.3f} ms, p95 {p95:.3f} ms")
        spec_names = {key: spec.display_name for key, spec in providers().items()}
        synthetic = [
            replace(tool, name=f"{tool.name}_{copy}", provider=f"{tool.provider}{copy}")
            for copy in range(math.ceil(1000 / len(index.tools)))
            for tool in index.tools
        ][:1000]
        big = ToolIndex(synthetic, spec_names)
        p50, p95 = latency(big, queries)
        print(
            f"search latency, {len(synthetic)} tools: p50 {p50:.3f} ms, p95 {p95:.3f} ms "
            "(target p95 ≤ 20 ms)"
        )


if __name__ == "__main__":
    main()
