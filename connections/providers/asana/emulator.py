"""An Asana emulator: OAuth (refresh tokens that do not rotate) and the workspace,
project, task and story routes the tools use; answers wrapped in `data`, errors in
`errors`. Projects have members: another project's tasks are a 403, as in Asana.
Controls: add_workspace, add_project, add_task."""

from __future__ import annotations

import itertools

from connections.providers import providers
from connections.providers.emulation.oauth import OAuthProvider
from connections.providers.emulation.parts import Answer


class AsanaEmulator(OAuthProvider):
    def __init__(self) -> None:
        super().__init__(providers()["asana"])
        self.workspaces: dict[str, dict] = {}
        self.projects: dict[str, dict] = {}
        self.tasks: dict[str, dict] = {}
        self._gid = itertools.count(1200000000000001)
        self.route("GET", "/api/1.0/users/me", self.me)
        self.route("GET", "/api/1.0/workspaces", self.list_workspaces)
        self.route("GET", "/api/1.0/projects", self.list_projects)
        self.route("GET", "/api/1.0/tasks", self.list_tasks)
        self.route("POST", "/api/1.0/tasks", self.create_task)
        self.route("GET", r"/api/1.0/tasks/(?P<gid>\d+)", self.get_task)
        self.route("PUT", r"/api/1.0/tasks/(?P<gid>\d+)", self.update_task)
        self.route("POST", r"/api/1.0/tasks/(?P<gid>\d+)/stories", self.add_story)

    def _new(self) -> str:
        return str(next(self._gid))

    def add_workspace(self, name: str, members: list[str]) -> dict:
        workspace = {"gid": self._new(), "name": name, "members": set(members)}
        self.workspaces[workspace["gid"]] = workspace
        return workspace

    def add_project(self, workspace: dict, name: str, members: list[str]) -> dict:
        project = {
            "gid": self._new(),
            "name": name,
            "workspace": workspace["gid"],
            "members": set(members),
            "permalink_url": "https://app.asana.com/0/p",
        }
        self.projects[project["gid"]] = project
        return project

    def add_task(
        self,
        project: dict | None,
        name: str,
        *,
        assignee: str | None = None,
        workspace: dict | None = None,
    ) -> dict:
        task = {
            "gid": self._new(),
            "name": name,
            "notes": "",
            "completed": False,
            "due_on": None,
            "assignee": assignee,
            "projects": [project["gid"]] if project else [],
            "workspace": (project or {}).get("workspace") or (workspace or {}).get("gid"),
            "stories": [],
            "permalink_url": "https://app.asana.com/0/t",
        }
        self.tasks[task["gid"]] = task
        return task

    def unauthorized(self):
        return 401, {"errors": [{"message": "Not Authorized"}]}

    def forbidden(self, missing):
        return 403, {"errors": [{"message": "Forbidden"}]}

    def _user(self, handler) -> dict:
        return self.require(handler, "default")

    def _task(self, user: dict, gid: str) -> dict:
        task = self.tasks.get(gid)
        if task is None:
            raise Answer(404, {"errors": [{"message": "task: Unknown object: " + gid}]})
        if (
            task["projects"]
            and not any(user["id"] in self.projects[p]["members"] for p in task["projects"])
            and task["assignee"] != user["id"]
        ):
            raise Answer(403, {"errors": [{"message": "You do not have access to this task."}]})
        return task

    def _task_json(self, task: dict) -> dict:
        assignee = self.users.get(task["assignee"]) if task["assignee"] else None
        return {
            **{k: v for k, v in task.items() if k not in ("stories", "workspace")},
            "assignee": {"gid": task["assignee"], "name": assignee["name"]} if assignee else None,
            "projects": [{"gid": p, "name": self.projects[p]["name"]} for p in task["projects"]],
            "modified_at": "2026-11-24T10:00:00Z",
        }

    def me(self, handler, match, query, body):
        user = self._user(handler)
        return 200, {}, {"data": {"gid": user["id"], "name": user["name"], "email": user["email"]}}

    def list_workspaces(self, handler, match, query, body):
        user = self._user(handler)
        return (
            200,
            {},
            {
                "data": [
                    {"gid": w["gid"], "name": w["name"]}
                    for w in self.workspaces.values()
                    if user["id"] in w["members"]
                ]
            },
        )

    def list_projects(self, handler, match, query, body):
        user = self._user(handler)
        found = [
            p
            for p in self.projects.values()
            if p["workspace"] == query.get("workspace") and user["id"] in p["members"]
        ]
        return (
            200,
            {},
            {
                "data": [
                    {"gid": p["gid"], "name": p["name"], "permalink_url": p["permalink_url"]}
                    for p in found
                ]
            },
        )

    def list_tasks(self, handler, match, query, body):
        user = self._user(handler)
        if "project" in query:
            project = self.projects.get(query["project"])
            if project is None or user["id"] not in project["members"]:
                raise Answer(
                    403, {"errors": [{"message": "You do not have access to this project."}]}
                )
            found = [t for t in self.tasks.values() if project["gid"] in t["projects"]]
        else:
            found = [
                t
                for t in self.tasks.values()
                if t["assignee"] == user["id"] and t["workspace"] == query.get("workspace")
            ]
        if query.get("completed_since") == "now":
            found = [t for t in found if not t["completed"]]
        return 200, {}, {"data": [self._task_json(t) for t in found]}

    def create_task(self, handler, match, query, body):
        user = self._user(handler)
        data = self.json_body(body).get("data") or {}
        if not data.get("name"):
            raise Answer(400, {"errors": [{"message": "name: Missing input"}]})
        project = self.projects.get((data.get("projects") or [None])[0] or "")
        if data.get("projects") and (project is None or user["id"] not in project["members"]):
            raise Answer(403, {"errors": [{"message": "You do not have access to this project."}]})
        task = self.add_task(
            project,
            data["name"],
            assignee=user["id"] if data.get("assignee") == "me" else None,
            workspace=self.workspaces.get(data.get("workspace", "")),
        )
        task.update({k: data[k] for k in ("notes", "due_on") if k in data})
        return 201, {}, {"data": self._task_json(task)}

    def get_task(self, handler, match, query, body):
        return 200, {}, {"data": self._task_json(self._task(self._user(handler), match["gid"]))}

    def update_task(self, handler, match, query, body):
        user = self._user(handler)
        task = self._task(user, match["gid"])
        data = self.json_body(body).get("data") or {}
        for field in ("name", "notes", "due_on", "completed"):
            if field in data:
                task[field] = data[field]
        if data.get("assignee") == "me":
            task["assignee"] = user["id"]
        return 200, {}, {"data": self._task_json(task)}

    def add_story(self, handler, match, query, body):
        task = self._task(self._user(handler), match["gid"])
        story = {
            "gid": self._new(),
            "text": (self.json_body(body).get("data") or {}).get("text"),
            "created_at": "2026-11-25T10:00:00Z",
        }
        task["stories"].append(story)
        return 201, {}, {"data": story}
