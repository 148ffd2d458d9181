"""What the organization's policy costs a tool call (issue 26): deciding a call against
200 rules, none of which matches (every rule is asked: the worst case), against the same
call with no rule at all, interleaved in one run.

    .venv/bin/python -m bench.policy_eval

Target: ≤ 0.5 ms per call with 200 rules. Rules are loaded once per process and
organization (connections/policy.py), so the figure is the evaluation itself; the SQL a
call costs is pinned by tests/connections/test_policy.py (no statement for the rules).
"""

from __future__ import annotations

import statistics

from bench.common import bench_database, timed

RULES = 200
CALLS = 5_000


def main() -> None:
    with bench_database():
        from connections import policy
        from connections.tools import tool_registry
        from portal.callers import Caller
        from tests.factories import MembershipFactory, OrganizationFactory

        ruled, bare = OrganizationFactory(slug="ruled"), OrganizationFactory(slug="bare")
        owner = MembershipFactory(organization=ruled, role="owner")
        caller = Caller.of_member(owner)
        for n in range(RULES):
            # Each rule looks at the tool, the caller and one argument, and misses.
            policy.create_rule(
                caller=caller,
                name=f"rule {n}",
                tools=["slack_*", "monday_*"][n % 2 : n % 2 + 1],
                roles=["owner", "admin", "member"],
                conditions=[{"path": "$.item_name", "op": "regex", "value": f"^never-{n}$"}],
                effect="deny",
            )
        ruled.refresh_from_db()
        tool = tool_registry()["monday_create_item"]
        params = {"board_id": "1001", "item_name": "Launch plan"}
        with_rules = policy.Context(caller=Caller.of_member(owner))
        bare_owner = MembershipFactory(organization=bare, role="owner")
        without = policy.Context(caller=Caller.of_member(bare_owner))
        assert len(policy.rules_of(ruled)) == RULES
        ruled_times, bare_times = timed(
            lambda: policy.decide(tool, params, with_rules),
            lambda: policy.decide(tool, params, without),
            n=CALLS,
        )
        ruled_ms = [t * 1000 for t in ruled_times]
        bare_ms = [t * 1000 for t in bare_times]
        p50, p95 = statistics.median(ruled_ms), sorted(ruled_ms)[int(0.95 * CALLS) - 1]
        base = statistics.median(bare_ms)
        print(f"decide, {RULES} rules (none matches): p50 {p50:.3f} ms, p95 {p95:.3f} ms")
        print(f"decide, no rules (baseline):          p50 {base:.4f} ms")
        print(
            f"ratio p50: {p50 / max(base, 1e-6):.0f}x   target: p95 ≤ 0.5 ms → {'OK' if p95 <= 0.5 else 'MISSED'}"
        )


if __name__ == "__main__":
    main()
