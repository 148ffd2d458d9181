"""asana's tools."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from connections.errors import ToolInvalid
from connections.providers.schema import (
    boolean,
    compact,
    limit,
    obj,
    required_text,
    text,
)
from connections.tooling import ToolContext, Toolset

GID = {"type": "string", "pattern": r"^[0-9]{1,30}$"}


TASK_FIELDS = "name,completed,due_on,assignee.name,permalink_url,modified_at"


def _gid(description: str) -> dict:
    return {**GID, "description": description}


def _task(raw: dict) -> dict[str, Any]:
    return compact(
        {
            "id": raw.get("gid"),
            "name": raw.get("name"),
            "completed": raw.get("completed"),
            "due_on": raw.get("due_on"),
            "assignee": (raw.get("assignee") or {}).get("name"),
            "url": raw.get("permalink_url"),
            "notes": (raw.get("notes") or "")[:4000] or None,
            "projects": [p.get("name") for p in raw.get("projects") or []],
            "modified_at": raw.get("modified_at"),
        }
    )


DUE = text("Due date, YYYY-MM-DD.", max_length=10, pattern=r"^\d{4}-\d{2}-\d{2}$")


toolset = Toolset(scopes=("default",))


@toolset.read(
    "asana_list_workspaces",
    "The user's Asana workspaces (id, name); most calls need a workspace id.",
    obj({}),
)
def list_workspaces(ctx: ToolContext, params: dict) -> dict:
    found = ctx.get("/workspaces", params={"limit": 100})
    return {
        "workspaces": [{"id": w.get("gid"), "name": w.get("name")} for w in found.get("data") or []]
    }


@toolset.read(
    "asana_list_projects",
    "Active projects of a workspace the user can see: id, name, url.",
    obj({"workspace_id": _gid("The workspace's id."), "limit": limit(50, 100)}, ["workspace_id"]),
)
def list_projects(ctx: ToolContext, params: dict) -> dict:
    found = ctx.get(
        "/projects",
        params={
            "workspace": params["workspace_id"],
            "archived": False,
            "limit": params.get("limit", 50),
            "opt_fields": "name,permalink_url,owner.name",
        },
    )
    return {
        "projects": [
            compact({"id": p.get("gid"), "name": p.get("name"), "url": p.get("permalink_url")})
            for p in found.get("data") or []
        ]
    }


@toolset.read(
    "asana_list_tasks",
    "Tasks of a project, or the user's own tasks in a workspace: id, name, "
    "done or not, due date, assignee, url.",
    obj(
        {
            "project_id": _gid("A project's id."),
            "workspace_id": _gid("Or a workspace's id: the user's own tasks there."),
            "incomplete_only": boolean("Only tasks not completed."),
            "limit": limit(50, 100),
        }
    ),
)
def list_tasks(ctx: ToolContext, params: dict) -> dict:
    query: dict[str, Any] = {"limit": params.get("limit", 50), "opt_fields": TASK_FIELDS}
    if params.get("project_id"):
        query["project"] = params["project_id"]
    elif params.get("workspace_id"):
        query.update(assignee="me", workspace=params["workspace_id"])
    else:
        raise ToolInvalid("Give a project_id, or a workspace_id for the user's own tasks.")
    if params.get("incomplete_only"):
        query["completed_since"] = "now"
    found = ctx.get("/tasks", params=query)
    return {"tasks": [_task(t) for t in found.get("data") or []]}


@toolset.read(
    "asana_get_task",
    "One task with its notes, projects, assignee and due date.",
    obj({"task_id": _gid("The task's id.")}, ["task_id"]),
)
def get_task(ctx: ToolContext, params: dict) -> dict:
    found = ctx.get(
        f"/tasks/{quote(params['task_id'], safe='')}",
        params={"opt_fields": TASK_FIELDS + ",notes,projects.name"},
    )
    return _task(found.get("data") or {})


@toolset.write(
    "asana_create_task",
    "Create a task in a project (or in a workspace), with notes and a due date, "
    "optionally assigned to the user. Returns its id and url.",
    obj(
        {
            "name": required_text("The task's name.", max_length=1024),
            "project_id": _gid("The project to add it to."),
            "workspace_id": _gid("Or the workspace, without a project."),
            "notes": text("Details.", max_length=60_000),
            "due_on": DUE,
            "assign_to_me": boolean("Assign it to the user."),
        },
        ["name"],
    ),
)
def create_task(ctx: ToolContext, params: dict) -> dict:
    data: dict[str, Any] = {"name": params["name"]}
    if params.get("project_id"):
        data["projects"] = [params["project_id"]]
    elif params.get("workspace_id"):
        data["workspace"] = params["workspace_id"]
    else:
        raise ToolInvalid("Give the task a project_id or a workspace_id.")
    for field in ("notes", "due_on"):
        if params.get(field):
            data[field] = params[field]
    if params.get("assign_to_me"):
        data["assignee"] = "me"
    created = ctx.post("/tasks", json={"data": data}, params={"opt_fields": TASK_FIELDS})
    return _task(created.get("data") or {})


@toolset.write(
    "asana_update_task",
    "Change a task: complete or reopen it, rename it, edit notes or due date, "
    "or assign it to the user.",
    obj(
        {
            "task_id": _gid("The task's id."),
            "name": required_text("A new name.", max_length=1024),
            "notes": text("New notes.", max_length=60_000),
            "due_on": DUE,
            "completed": boolean("Mark it done (true) or not done."),
            "assign_to_me": boolean("Assign it to the user."),
        },
        ["task_id"],
        minProperties=2,
    ),
)
def update_task(ctx: ToolContext, params: dict) -> dict:
    data = {f: params[f] for f in ("name", "notes", "due_on", "completed") if f in params}
    if params.get("assign_to_me"):
        data["assignee"] = "me"
    if not data:
        raise ToolInvalid("Say what to change: name, notes, due_on, completed or assignee.")
    updated = ctx.put(
        f"/tasks/{quote(params['task_id'], safe='')}",
        json={"data": data},
        params={"opt_fields": TASK_FIELDS},
    )
    return _task(updated.get("data") or {})


@toolset.write(
    "asana_add_comment",
    "Comment on a task as the user.",
    obj(
        {
            "task_id": _gid("The task's id."),
            "text": required_text("The comment.", max_length=60_000),
        },
        ["task_id", "text"],
    ),
)
def add_comment(ctx: ToolContext, params: dict) -> dict:
    story = ctx.post(
        f"/tasks/{quote(params['task_id'], safe='')}/stories",
        json={"data": {"text": params["text"]}},
    )
    data = story.get("data") or {}
    return compact({"id": data.get("gid"), "created_at": data.get("created_at")})


TOOLS = toolset.tools
