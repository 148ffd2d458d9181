"""github's tools."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from connections.errors import ToolInvalid
from connections.providers.schema import (
    compact,
    enum,
    integer,
    limit,
    obj,
    required_text,
    string_list,
    text,
)
from connections.tooling import ToolContext, Toolset

REPO = {
    "type": "string",
    "pattern": r"^[A-Za-z0-9_.-]{1,100}/[A-Za-z0-9_.-]{1,100}$",
    "description": "The repository as owner/name, e.g. octo-org/website.",
}


NUMBER = integer("The issue or pull request number.", maximum=10**9)


def _repo(params: dict) -> str:
    owner, name = params["repo"].split("/", 1)
    return f"/repos/{quote(owner, safe='')}/{quote(name, safe='')}"


def _user(raw: dict | None) -> str | None:
    return (raw or {}).get("login")


def _issue(raw: dict) -> dict[str, Any]:
    return compact(
        {
            "number": raw.get("number"),
            "title": raw.get("title"),
            "state": raw.get("state"),
            "url": raw.get("html_url"),
            "author": _user(raw.get("user")),
            "assignees": [_user(a) for a in raw.get("assignees") or []],
            "labels": [label.get("name") for label in raw.get("labels") or []],
            "comments": raw.get("comments"),
            "created_at": raw.get("created_at"),
            "updated_at": raw.get("updated_at"),
            "is_pull_request": "pull_request" in raw or None,
        }
    )


def _pull(raw: dict) -> dict[str, Any]:
    return compact(
        {
            "number": raw.get("number"),
            "title": raw.get("title"),
            "state": raw.get("state"),
            "draft": raw.get("draft"),
            "merged": raw.get("merged"),
            "url": raw.get("html_url"),
            "author": _user(raw.get("user")),
            "head": (raw.get("head") or {}).get("ref"),
            "base": (raw.get("base") or {}).get("ref"),
            "created_at": raw.get("created_at"),
            "updated_at": raw.get("updated_at"),
        }
    )


STATE = enum("open or closed.", ["open", "closed"])


ISSUE_STATE = enum("Which issues: open (default), closed or all.", ["open", "closed", "all"])


toolset = Toolset(scopes=("repo",))


@toolset.read(
    "github_get_me",
    "Who the connected GitHub user is (login, name, email). Use it to confirm "
    "whose access the other GitHub tools act with.",
    obj({}),
    scopes=("read:user",),
)
def get_me(ctx: ToolContext, params: dict) -> dict:
    me = ctx.get("/user")
    return compact(
        {
            "id": me.get("id"),
            "login": me.get("login"),
            "name": me.get("name"),
            "email": me.get("email"),
            "url": me.get("html_url"),
        }
    )


@toolset.read(
    "github_list_repos",
    "Repositories the user can access, most recently updated first: "
    "owner/name, private or not, description, url. Use it to find a repository.",
    obj(
        {
            "limit": limit(30),
            "affiliation": text(
                "owner, collaborator, organization_member (comma-separated; default all).",
                max_length=60,
                pattern=r"^(owner|collaborator|organization_member)(,(owner|collaborator|organization_member))*$",
            ),
        }
    ),
)
def list_repos(ctx: ToolContext, params: dict) -> dict:
    repos = ctx.get(
        "/user/repos",
        params={
            "per_page": params.get("limit", 30),
            "sort": "updated",
            "affiliation": params.get("affiliation", "owner,collaborator,organization_member"),
        },
    )
    return {
        "repositories": [
            compact(
                {
                    "repo": r.get("full_name"),
                    "private": r.get("private"),
                    "description": r.get("description"),
                    "url": r.get("html_url"),
                    "default_branch": r.get("default_branch"),
                    "open_issues": r.get("open_issues_count"),
                    "updated_at": r.get("updated_at"),
                }
            )
            for r in repos or []
        ]
    }


@toolset.read(
    "github_list_issues",
    "Issues of a repository (not pull requests), newest first, optionally by "
    "state, labels or assignee: number, title, state, labels, assignees, url.",
    obj(
        {
            "repo": REPO,
            "state": ISSUE_STATE,
            "labels": string_list("Only issues with all these labels."),
            "assignee": text("A login, 'none' or '*'.", max_length=100),
            "limit": limit(30),
        },
        ["repo"],
    ),
)
def list_issues(ctx: ToolContext, params: dict) -> dict:
    issues = ctx.get(
        f"{_repo(params)}/issues",
        params={
            "state": params.get("state", "open"),
            "labels": ",".join(params.get("labels", [])) or None,
            "assignee": params.get("assignee"),
            "per_page": params.get("limit", 30),
        },
    )
    # The issues endpoint also lists pull requests; those have their own tools.
    return {"issues": [_issue(i) for i in issues or [] if "pull_request" not in i]}


@toolset.read(
    "github_get_issue",
    "One issue with its body (first 4,000 characters), state, labels and assignees.",
    obj({"repo": REPO, "number": NUMBER}, ["repo", "number"]),
)
def get_issue(ctx: ToolContext, params: dict) -> dict:
    raw = ctx.get(f"{_repo(params)}/issues/{params['number']}")
    return {**_issue(raw), "body": (raw.get("body") or "")[:4000]}


@toolset.write(
    "github_create_issue",
    "Open an issue in a repository as the user, with optional body (Markdown), "
    "labels and assignees (logins). Returns its number and url.",
    obj(
        {
            "repo": REPO,
            "title": required_text("The issue's title.", max_length=256),
            "body": text("The issue's description, in Markdown.", max_length=60_000),
            "labels": string_list("Label names."),
            "assignees": string_list("Logins to assign.", max_items=10),
        },
        ["repo", "title"],
    ),
)
def create_issue(ctx: ToolContext, params: dict) -> dict:
    body = {"title": params["title"]}
    for field in ("body", "labels", "assignees"):
        if params.get(field):
            body[field] = params[field]
    return _issue(ctx.post(f"{_repo(params)}/issues", json=body))


@toolset.write(
    "github_update_issue",
    "Change an issue: close or reopen it (state, state_reason), retitle it, "
    "edit its body, or replace its labels or assignees.",
    obj(
        {
            "repo": REPO,
            "number": NUMBER,
            "title": required_text("A new title.", max_length=256),
            "body": text("A new description, in Markdown.", max_length=60_000),
            "state": STATE,
            "state_reason": enum(
                "Why it was closed or reopened.", ["completed", "not_planned", "reopened"]
            ),
            "labels": string_list("The issue's labels from now on (replaces them)."),
            "assignees": string_list("The issue's assignees from now on.", max_items=10),
        },
        ["repo", "number"],
        minProperties=3,
    ),
)
def update_issue(ctx: ToolContext, params: dict) -> dict:
    changes = {
        field: params[field]
        for field in ("title", "body", "state", "state_reason", "labels", "assignees")
        if field in params
    }
    if not changes:
        raise ToolInvalid("Say what to change: title, body, state, labels or assignees.")
    return _issue(ctx.patch(f"{_repo(params)}/issues/{params['number']}", json=changes))


@toolset.write(
    "github_add_issue_comment",
    "Comment on an issue or pull request as the user (Markdown).",
    obj(
        {
            "repo": REPO,
            "number": NUMBER,
            "body": required_text("The comment, in Markdown.", max_length=60_000),
        },
        ["repo", "number", "body"],
    ),
)
def add_issue_comment(ctx: ToolContext, params: dict) -> dict:
    comment = ctx.post(
        f"{_repo(params)}/issues/{params['number']}/comments", json={"body": params["body"]}
    )
    return compact(
        {
            "id": comment.get("id"),
            "url": comment.get("html_url"),
            "author": _user(comment.get("user")),
            "created_at": comment.get("created_at"),
        }
    )


@toolset.read(
    "github_list_pull_requests",
    "Pull requests of a repository: number, title, state, draft, branches, author, url.",
    obj({"repo": REPO, "state": ISSUE_STATE, "limit": limit(30)}, ["repo"]),
)
def list_pull_requests(ctx: ToolContext, params: dict) -> dict:
    pulls = ctx.get(
        f"{_repo(params)}/pulls",
        params={"state": params.get("state", "open"), "per_page": params.get("limit", 30)},
    )
    return {"pull_requests": [_pull(p) for p in pulls or []]}


@toolset.read(
    "github_get_pull_request",
    "One pull request with its description, branches, merge state and the size of its change.",
    obj({"repo": REPO, "number": NUMBER}, ["repo", "number"]),
)
def get_pull_request(ctx: ToolContext, params: dict) -> dict:
    raw = ctx.get(f"{_repo(params)}/pulls/{params['number']}")
    return compact(
        {
            **_pull(raw),
            "body": (raw.get("body") or "")[:4000],
            "mergeable": raw.get("mergeable"),
            "additions": raw.get("additions"),
            "deletions": raw.get("deletions"),
            "changed_files": raw.get("changed_files"),
            "review_comments": raw.get("review_comments"),
        }
    )


@toolset.read(
    "github_search_issues",
    "Search issues and pull requests the user can see with GitHub's search "
    "syntax, e.g. 'repo:octo-org/website is:open label:bug' or 'is:pr author:@me'.",
    obj(
        {"query": required_text("GitHub search query.", max_length=256), "limit": limit(20)},
        ["query"],
    ),
)
def search_issues(ctx: ToolContext, params: dict) -> dict:
    found = ctx.get(
        "/search/issues", params={"q": params["query"], "per_page": params.get("limit", 20)}
    )
    return {
        "total": found.get("total_count"),
        "items": [
            {**_issue(i), "repo": (i.get("repository_url") or "").split("/repos/")[-1]}
            for i in found.get("items") or []
        ],
    }


TOOLS = toolset.tools
