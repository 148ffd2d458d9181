"""jira's tools."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from connections.errors import ToolInvalid
from connections.providers.schema import compact, limit, obj, required_text, string_list, text
from connections.tooling import ToolContext, Toolset


def adf(content: str) -> dict:
    """Plain text as an Atlassian Document: one paragraph per line."""
    return {
        "type": "doc",
        "version": 1,
        "content": [
            {"type": "paragraph", "content": [{"type": "text", "text": line}] if line else []}
            for line in content.split("\n")
        ],
    }


def adf_text(node: Any) -> str:
    """An Atlassian Document as plain text."""
    if not isinstance(node, dict):
        return ""
    if node.get("type") == "text":
        return node.get("text", "")
    parts = [adf_text(child) for child in node.get("content") or []]
    separator = "\n" if node.get("type") in ("doc", "bulletList", "orderedList") else ""
    return separator.join(parts)


def _browse(ctx: ToolContext, key: str) -> str | None:
    site = ctx.values.get("site_url")
    return f"{site}/browse/{key}" if site else None


def _issue(ctx: ToolContext, raw: dict) -> dict[str, Any]:
    fields = raw.get("fields") or {}
    return compact(
        {
            "key": raw.get("key"),
            "summary": fields.get("summary"),
            "status": (fields.get("status") or {}).get("name"),
            "type": (fields.get("issuetype") or {}).get("name"),
            "priority": (fields.get("priority") or {}).get("name"),
            "assignee": (fields.get("assignee") or {}).get("displayName"),
            "reporter": (fields.get("reporter") or {}).get("displayName"),
            "updated": fields.get("updated"),
            "url": _browse(ctx, raw.get("key", "")),
        }
    )


def _key(params: dict) -> str:
    return quote(params["issue"], safe="")


ISSUE = required_text(
    "The issue key, e.g. PROJ-123.", max_length=50, pattern=r"^[A-Za-z][A-Za-z0-9_]*-[0-9]+$"
)


toolset = Toolset(scopes=("write:jira-work",))


@toolset.read(
    "jira_search_issues",
    "Search issues with JQL, e.g. 'project = PROJ AND status != Done AND "
    "assignee = currentUser() ORDER BY updated DESC': key, summary, status, assignee, url.",
    obj(
        {"jql": required_text("A JQL query.", max_length=2000), "limit": limit(25, 100)},
        ["jql"],
    ),
    scopes=("read:jira-work",),
)
def search_issues(ctx: ToolContext, params: dict) -> dict:
    found = ctx.post(
        "/rest/api/3/search/jql",
        json={
            "jql": params["jql"],
            "maxResults": params.get("limit", 25),
            "fields": ["summary", "status", "issuetype", "priority", "assignee", "updated"],
        },
    )
    return {"issues": [_issue(ctx, i) for i in found.get("issues") or []]}


@toolset.read(
    "jira_get_issue",
    "One issue with its description and latest comments, as text.",
    obj({"issue": ISSUE}, ["issue"]),
    scopes=("read:jira-work",),
)
def get_issue(ctx: ToolContext, params: dict) -> dict:
    raw = ctx.get(
        f"/rest/api/3/issue/{_key(params)}",
        params={
            "fields": "summary,status,issuetype,priority,assignee,reporter,updated,description,comment"
        },
    )
    fields = raw.get("fields") or {}
    comments = [
        compact(
            {
                "author": (c.get("author") or {}).get("displayName"),
                "body": adf_text(c.get("body"))[:2000],
                "created": c.get("created"),
            }
        )
        for c in ((fields.get("comment") or {}).get("comments") or [])[-10:]
    ]
    return {
        **_issue(ctx, raw),
        "description": adf_text(fields.get("description"))[:8000],
        "comments": comments,
    }


@toolset.write(
    "jira_create_issue",
    "Create an issue in a project (by key) as the user: type (default Task), "
    "summary, description, labels, optionally assigned to them.",
    obj(
        {
            "project": required_text("The project key, e.g. PROJ.", max_length=20),
            "summary": required_text("The summary.", max_length=255),
            "issue_type": text("Task, Bug, Story… (default Task).", max_length=60),
            "description": text("Plain text; new lines start paragraphs.", max_length=30_000),
            "labels": string_list("Labels (no spaces).", max_length=100),
            "assign_to_me": {"type": "boolean", "description": "Assign it to the user."},
        },
        ["project", "summary"],
    ),
)
def create_issue(ctx: ToolContext, params: dict) -> dict:
    fields: dict[str, Any] = {
        "project": {"key": params["project"]},
        "issuetype": {"name": params.get("issue_type") or "Task"},
        "summary": params["summary"],
    }
    if params.get("description"):
        fields["description"] = adf(params["description"])
    if params.get("labels"):
        fields["labels"] = params["labels"]
    if params.get("assign_to_me"):
        fields["assignee"] = {"accountId": ctx.get("/rest/api/3/myself")["accountId"]}
    created = ctx.post("/rest/api/3/issue", json={"fields": fields})
    return compact(
        {
            "key": created.get("key"),
            "id": created.get("id"),
            "url": _browse(ctx, created.get("key", "")),
        }
    )


@toolset.write(
    "jira_transition_issue",
    "Move an issue through its workflow to a status or transition by name "
    "(e.g. In Progress, Done). Unknown names list the possible ones.",
    obj(
        {
            "issue": ISSUE,
            "to": required_text("The target status or transition name.", max_length=100),
        },
        ["issue", "to"],
    ),
)
def transition_issue(ctx: ToolContext, params: dict) -> dict:
    path = f"/rest/api/3/issue/{_key(params)}/transitions"
    transitions = ctx.get(path).get("transitions") or []
    wanted = params["to"].lower()
    chosen = next(
        (
            t
            for t in transitions
            if t.get("name", "").lower() == wanted
            or (t.get("to") or {}).get("name", "").lower() == wanted
        ),
        None,
    )
    if chosen is None:
        names = ", ".join((t.get("to") or {}).get("name") or t.get("name", "") for t in transitions)
        raise ToolInvalid(
            f"Jira: {params['issue']} cannot move to {params['to']!r}; it can move to {names}."
        )
    ctx.post(path, json={"transition": {"id": chosen["id"]}})
    return {
        "issue": params["issue"],
        "status": (chosen.get("to") or {}).get("name") or chosen.get("name"),
    }


@toolset.write(
    "jira_add_comment",
    "Comment on an issue as the user (plain text).",
    obj(
        {"issue": ISSUE, "body": required_text("The comment.", max_length=30_000)},
        ["issue", "body"],
    ),
)
def add_comment(ctx: ToolContext, params: dict) -> dict:
    comment = ctx.post(
        f"/rest/api/3/issue/{_key(params)}/comment", json={"body": adf(params["body"])}
    )
    return compact(
        {"id": comment.get("id"), "created": comment.get("created"), "issue": params["issue"]}
    )


TOOLS = toolset.tools
