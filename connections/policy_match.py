"""Matching a call's arguments for connections/policy.py: looking an argument up by its
path, and running all of a tool's regex conditions on one argument as one RE2 Set — a
call then costs one regex match per argument path, however many rules look at it."""

from __future__ import annotations

from typing import Any

import re2

from connections.patterns import pattern_options

MATCHED_TEXT = 10_000  # characters of an argument a regex looks at

MISSING = object()


def lookup(params: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        if isinstance(params, dict) and key in params:
            params = params[key]
        elif isinstance(params, list) and key.isdigit() and int(key) < len(params):
            params = params[int(key)]
        else:
            return MISSING
    return params


class RegexSets:
    """The regex conditions of the rules that can match one tool, one RE2 Set per argument
    path: a call runs one match per path for all of them, not one per rule."""

    def __init__(self, rules: list[Any]) -> None:
        # `rules`: connections.policy.Compiled, each with its (path, op, value) conditions.
        by_path: dict[tuple[str, ...], list[tuple[str, tuple[int, int]]]] = {}
        for compiled in rules:
            for n, (path, op, value) in enumerate(compiled.conditions):
                if op == "regex":
                    by_path.setdefault(path, []).append((value.pattern, (id(compiled), n)))
        self.sets: dict[tuple[str, ...], tuple[Any, list[tuple[int, int]]]] = {}
        for path, patterns in by_path.items():
            regex_set = re2.Set.SearchSet(pattern_options())
            for pattern, _ in patterns:
                regex_set.Add(pattern)
            regex_set.Compile()
            self.sets[path] = (regex_set, [owner for _, owner in patterns])

    def for_call(self) -> Hits:
        return Hits(self.sets)


class Hits:
    """One call's regex matches, per argument path, computed when first asked."""

    def __init__(self, sets: dict[tuple[str, ...], tuple[Any, list[tuple[int, int]]]]) -> None:
        self.sets = sets
        self.found: dict[tuple[str, ...], set[tuple[int, int]]] = {}

    def matched(self, params: dict[str, Any], path: tuple[str, ...]) -> set[tuple[int, int]]:
        found = self.found.get(path)
        if found is None:
            value = lookup(params, path)
            found = set()
            if value is not MISSING:
                regex_set, owners = self.sets[path]
                found = {owners[i] for i in regex_set.Match(str(value)[:MATCHED_TEXT]) or ()}
            self.found[path] = found
        return found
