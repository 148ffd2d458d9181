"""Finding tools by what someone wants to do (issue 25): a lexical ranking (BM25 over a
tool's name, provider, description and parameters, with a small table of the words people
use for the same act), over the caller's available tools or the whole catalog.

Lexical on purpose: it runs offline, needs no model weights, answers in well under a
millisecond per hundred tools, and bench.tool_selection measures it (recall@1/@5 over
labelled requests). An embedding model is added only if it measurably helps.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from connections.tooling import Tool

WORD = re.compile(r"[a-z0-9]+")
# Words people use → the word the tools use. Both sides are stemmed.
SAME_ACT = {
    "add": "create", "new": "create", "make": "create", "file": "create", "open": "get",
    "book": "create", "schedule": "create", "draft": "draft", "write": "create",
    "change": "update", "set": "update", "edit": "update", "modify": "update",
    "mark": "update", "assign": "update", "close": "update", "move": "move",
    "remove": "delete", "erase": "delete", "destroy": "delete",
    "show": "list", "which": "list", "what": "list", "see": "list", "read": "get",
    "find": "search", "look": "search", "lookup": "search", "query": "query",
    "send": "send", "mail": "email message", "email": "email message", "inbox": "message",
    "post": "post", "tell": "post", "reply": "reply comment", "answer": "reply",
    "put": "create", "leave": "create", "changed": "get",
    "ticket": "issue", "bug": "issue", "tickets": "issue", "pr": "pull", "prs": "pull",
    "meeting": "event", "meetings": "event", "appointment": "event", "calendar": "event",
    "doc": "file", "docs": "file", "spreadsheet": "file", "document": "file",
    "note": "note comment", "comment": "comment", "emoji": "reaction", "react": "reaction",
    "chat": "chat", "conversation": "chat", "conversations": "chat",
    "crm": "contact", "lead": "record", "opportunity": "record", "opportunities": "record",
    "soql": "soql", "who": "me", "profile": "user", "person": "user",
    "transition": "transition", "status": "status", "done": "transition",
    "progress": "transition", "backlog": "list", "wiki": "page",
}  # fmt: skip
STOP = frozenset(
    [
        "a",
        "an",
        "the",
        "to",
        "of",
        "in",
        "on",
        "for",
        "my",
        "our",
        "me",
        "i",
        "is",
        "are",
        "do",
        "we",
        "it",
        "this",
        "that",
        "with",
        "and",
        "or",
        "from",
        "at",
        "by",
        "be",
        "as",
        "its",
        "their",
        "there",
        "all",
        "any",
        "about",
        "into",
        "can",
        "you",
        "please",
        "new",
    ]
)
# Provider names as people write them → the catalog's key.
PROVIDER_WORDS = {
    "gmail": "google", "google": "google", "drive": "google", "gcal": "google",
    "outlook": "microsoft", "teams": "microsoft", "office": "microsoft", "365": "microsoft",
    "microsoft": "microsoft", "monday": "monday", "github": "github", "slack": "slack",
    "notion": "notion", "linear": "linear", "jira": "jira", "asana": "asana",
    "hubspot": "hubspot", "salesforce": "salesforce",
}  # fmt: skip


def stem(word: str) -> str:
    for suffix in ("ing", "ies", "es", "ed", "s"):
        if len(word) > len(suffix) + 2 and word.endswith(suffix):
            return word[: -len(suffix)] + ("y" if suffix == "ies" else "")
    return word


def words(text: str) -> list[str]:
    return [
        stem(same)
        for w in WORD.findall(text.lower().replace("_", " "))
        for same in SAME_ACT.get(w, w).split()
    ]


def query_words(query: str) -> list[str]:
    """A query's words; a number in it (an id: "issue 42", "PR #5") asks for one thing."""
    asked = words(query)
    if any(w.isdigit() or (any(c.isdigit() for c in w) and len(w) > 3) for w in asked):
        asked.append("get")
    return asked


def _schema_text(schema: dict[str, Any]) -> str:
    parts = []
    for name, prop in (schema.get("properties") or {}).items():
        parts.append(name)
        if isinstance(prop, dict):
            parts.append(str(prop.get("description", "")))
    return " ".join(parts)


@dataclass(frozen=True)
class Match:
    tool: Tool
    score: float


class ToolIndex:
    """BM25 over each tool's fields, weighted by how much they say about the tool."""

    K1, B = 1.2, 0.75
    WEIGHTS = (
        ("name", 3.0),
        ("provider", 2.0),
        ("description", 1.0),
        ("examples", 1.0),
        ("parameters", 0.4),
    )

    def __init__(self, tools: Iterable[Tool], provider_names: dict[str, str]) -> None:
        self.tools = list(tools)
        self.terms: list[dict[str, float]] = []
        for tool in self.tools:
            fields = {
                "name": tool.name,
                "provider": f"{tool.provider} {provider_names.get(tool.provider, '')}",
                "description": tool.description,
                "parameters": _schema_text(tool.input_schema),
                "examples": " ".join(tool.examples),
            }
            counts: dict[str, float] = defaultdict(float)
            for field, weight in self.WEIGHTS:
                for word in words(fields[field]):
                    if word not in STOP:
                        counts[word] += weight
            self.terms.append(counts)
        self.length = [sum(c.values()) for c in self.terms]
        self.average = (sum(self.length) / len(self.length)) if self.length else 1.0
        self.postings: dict[str, list[int]] = defaultdict(list)
        for position, counts in enumerate(self.terms):
            for word in counts:
                self.postings[word].append(position)
        total = len(self.tools)
        self.idf = {
            word: math.log(1 + (total - len(found) + 0.5) / (len(found) + 0.5))
            for word, found in self.postings.items()
        }

    def search(self, query: str, *, limit: int = 5, among: set[str] | None = None) -> list[Match]:
        asked = [w for w in query_words(query) if w not in STOP]
        named = {PROVIDER_WORDS[w] for w in WORD.findall(query.lower()) if w in PROVIDER_WORDS}
        scores: dict[int, float] = defaultdict(float)
        for word in set(asked):
            for position in self.postings.get(word, ()):
                frequency = self.terms[position][word]
                norm = self.K1 * (1 - self.B + self.B * self.length[position] / self.average)
                scores[position] += self.idf[word] * frequency * (self.K1 + 1) / (frequency + norm)
        ranked = []
        for position, score in scores.items():
            tool = self.tools[position]
            if among is not None and tool.name not in among:
                continue
            if named and tool.provider not in named:
                score *= 0.3  # another provider than the one the person named
            ranked.append(Match(tool, round(score, 4)))
        ranked.sort(key=lambda m: (-m.score, m.tool.name))
        return ranked[:limit]


@lru_cache(maxsize=1)
def catalog_index() -> ToolIndex:
    from connections.providers import providers

    catalog = providers()
    return ToolIndex(
        (tool for spec in catalog.values() for tool in spec.tools),
        {key: spec.display_name for key, spec in catalog.items()},
    )
