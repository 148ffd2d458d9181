"""linear's tools."""

from __future__ import annotations

from typing import Any

from connections.errors import (
    ToolInvalid,
    ToolNotFound,
)
from connections.providers.schema import compact, integer, limit, obj, required_text, text
from connections.tooling import ToolContext, Toolset


def graphql(ctx: ToolContext, query: str, variables: dict | None = None) -> dict:
    body = ctx.post("", json={"query": query, "variables": variables or {}})
    return (body or {}).get("data") or {}


ISSUE_FIELDS = (
    "id identifier title priority url updatedAt state { name } assignee { name email } "
    "team { key name }"
)


def _issue(raw: dict | None) -> dict[str, Any]:
    raw = raw or {}
    return compact(
        {
            "id": raw.get("id"),
            "identifier": raw.get("identifier"),
            "title": raw.get("title"),
            "state": (raw.get("state") or {}).get("name"),
            "assignee": (raw.get("assignee") or {}).get("name"),
            "priority": raw.get("priority"),
            "team": (raw.get("team") or {}).get("key"),
            "url": raw.get("url"),
            "updated_at": raw.get("updatedAt"),
            "description": (raw.get("description") or "")[:4000] or None,
        }
    )


def _team_id(ctx: ToolContext, team: str) -> str:
    teams = graphql(ctx, "query { teams(first: 100) { nodes { id key name } } }")
    for found in (teams.get("teams") or {}).get("nodes") or []:
        if team in (found.get("id"), found.get("key"), found.get("name")):
            return found["id"]
    raise ToolNotFound(f"Linear: no team {team!r} visible to this user.")


def _viewer_id(ctx: ToolContext) -> str:
    return ((graphql(ctx, "query { viewer { id } }").get("viewer")) or {})["id"]


def _state_id(ctx: ToolContext, issue: str, state: str) -> str:
    data = graphql(
        ctx,
        "query ($id: String!) { issue(id: $id) { team { states { nodes { id name } } } } }",
        {"id": issue},
    )
    states = (((data.get("issue") or {}).get("team") or {}).get("states") or {}).get("nodes") or []
    for found in states:
        if found.get("name", "").lower() == state.lower():
            return found["id"]
    raise ToolInvalid(
        f"Linear: no state {state!r}; this team has {', '.join(s.get('name', '') for s in states)}."
    )


ISSUE = required_text("The issue: its identifier (ENG-123) or id.", max_length=64)


PRIORITY = integer("0 none, 1 urgent, 2 high, 3 medium, 4 low.", minimum=0, maximum=4)


toolset = Toolset(scopes=("read",))


@toolset.read(
    "linear_list_teams",
    "The teams of the user's Linear workspace: id, key (as in ENG-123), name.",
    obj({}),
)
def list_teams(ctx: ToolContext, params: dict) -> dict:
    data = graphql(ctx, "query { teams(first: 100) { nodes { id key name } } }")
    return {"teams": [compact(t) for t in (data.get("teams") or {}).get("nodes") or []]}


@toolset.read(
    "linear_list_issues",
    "Issues, most recently updated first, filtered by team key, state name, "
    "title words, or assigned to the user: identifier, title, state, assignee, url.",
    obj(
        {
            "team": text("A team key, e.g. ENG.", max_length=20),
            "state": text("A state name, e.g. In Progress.", max_length=60),
            "query": text("Words in the title.", max_length=200),
            "assigned_to_me": {"type": "boolean", "description": "Only the user's issues."},
            "limit": limit(25, 100),
        }
    ),
)
def list_issues(ctx: ToolContext, params: dict) -> dict:
    issue_filter: dict[str, Any] = {}
    if params.get("team"):
        issue_filter["team"] = {"key": {"eq": params["team"]}}
    if params.get("assigned_to_me"):
        issue_filter["assignee"] = {"isMe": {"eq": True}}
    if params.get("state"):
        issue_filter["state"] = {"name": {"eqIgnoreCase": params["state"]}}
    if params.get("query"):
        issue_filter["title"] = {"containsIgnoreCase": params["query"]}
    data = graphql(
        ctx,
        f"query ($filter: IssueFilter, $first: Int) {{ issues(filter: $filter, first: $first, "
        f"orderBy: updatedAt) {{ nodes {{ {ISSUE_FIELDS} }} }} }}",
        {"filter": issue_filter, "first": params.get("limit", 25)},
    )
    return {"issues": [_issue(i) for i in (data.get("issues") or {}).get("nodes") or []]}


@toolset.read(
    "linear_get_issue",
    "One issue with its description and latest comments.",
    obj({"issue": ISSUE}, ["issue"]),
)
def get_issue(ctx: ToolContext, params: dict) -> dict:
    data = graphql(
        ctx,
        f"query ($id: String!) {{ issue(id: $id) {{ {ISSUE_FIELDS} description "
        "comments(first: 20) { nodes { body createdAt user { name } } } } }",
        {"id": params["issue"]},
    )
    issue = data.get("issue")
    if not issue:
        raise ToolNotFound(f"Linear: issue {params['issue']} not found or not visible.")
    comments = [
        compact(
            {
                "author": (c.get("user") or {}).get("name"),
                "body": c.get("body"),
                "at": c.get("createdAt"),
            }
        )
        for c in (issue.get("comments") or {}).get("nodes") or []
    ]
    return {**_issue(issue), "comments": comments}


@toolset.write(
    "linear_create_issue",
    "Create an issue in a team (key or name) as the user, optionally assigned "
    "to them. Returns its identifier and url.",
    obj(
        {
            "team": required_text("The team's key, name or id.", max_length=100),
            "title": required_text("The title.", max_length=255),
            "description": text("Markdown description.", max_length=50_000),
            "priority": PRIORITY,
            "assign_to_me": {"type": "boolean", "description": "Assign it to the user."},
        },
        ["team", "title"],
    ),
    scopes=("write",),
)
def create_issue(ctx: ToolContext, params: dict) -> dict:
    issue_input: dict[str, Any] = {
        "teamId": _team_id(ctx, params["team"]),
        "title": params["title"],
    }
    if params.get("description"):
        issue_input["description"] = params["description"]
    if params.get("priority") is not None:
        issue_input["priority"] = params["priority"]
    if params.get("assign_to_me"):
        issue_input["assigneeId"] = _viewer_id(ctx)
    data = graphql(
        ctx,
        f"mutation ($input: IssueCreateInput!) {{ issueCreate(input: $input) {{ success "
        f"issue {{ {ISSUE_FIELDS} }} }} }}",
        {"input": issue_input},
    )
    return _issue((data.get("issueCreate") or {}).get("issue"))


@toolset.write(
    "linear_update_issue",
    "Change an issue: move it to a state by name (e.g. Done), retitle it, "
    "edit its description or priority, or assign it to the user.",
    obj(
        {
            "issue": ISSUE,
            "state": text("The new state's name.", max_length=60),
            "title": required_text("A new title.", max_length=255),
            "description": text("A new description.", max_length=50_000),
            "priority": PRIORITY,
            "assign_to_me": {"type": "boolean", "description": "Assign it to the user."},
        },
        ["issue"],
        minProperties=2,
    ),
    scopes=("write",),
)
def update_issue(ctx: ToolContext, params: dict) -> dict:
    issue_input: dict[str, Any] = {}
    for field in ("title", "description", "priority"):
        if field in params:
            issue_input[field] = params[field]
    if params.get("state"):
        issue_input["stateId"] = _state_id(ctx, params["issue"], params["state"])
    if params.get("assign_to_me"):
        issue_input["assigneeId"] = _viewer_id(ctx)
    if not issue_input:
        raise ToolInvalid("Say what to change: title, description, priority, state or assignee.")
    data = graphql(
        ctx,
        f"mutation ($id: String!, $input: IssueUpdateInput!) {{ issueUpdate(id: $id, "
        f"input: $input) {{ success issue {{ {ISSUE_FIELDS} }} }} }}",
        {"id": params["issue"], "input": issue_input},
    )
    return _issue((data.get("issueUpdate") or {}).get("issue"))


@toolset.write(
    "linear_add_comment",
    "Comment on an issue as the user (Markdown).",
    obj(
        {"issue": ISSUE, "body": required_text("The comment.", max_length=50_000)},
        ["issue", "body"],
    ),
    scopes=("write",),
)
def add_comment(ctx: ToolContext, params: dict) -> dict:
    issue = graphql(ctx, "query ($id: String!) { issue(id: $id) { id } }", {"id": params["issue"]})
    if not issue.get("issue"):
        raise ToolNotFound(f"Linear: issue {params['issue']} not found or not visible.")
    data = graphql(
        ctx,
        "mutation ($input: CommentCreateInput!) { commentCreate(input: $input) { success "
        "comment { id url createdAt } } }",
        {"input": {"issueId": issue["issue"]["id"], "body": params["body"]}},
    )
    return compact((data.get("commentCreate") or {}).get("comment") or {})


TOOLS = toolset.tools
