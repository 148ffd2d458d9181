"""A Jira Cloud emulator: Atlassian OAuth (audience, rotating refresh tokens with a grace),
`accessible-resources` for the post-connect site lookup, and the gateway routes the
tools use under /ex/jira/{cloud_id}. Projects have members: another project is a 404.
Controls: add_site, add_project, add_issue."""

from __future__ import annotations

import itertools
from typing import Any

from connections.providers import providers
from connections.providers.emulation.oauth import OAuthProvider
from connections.providers.emulation.parts import Answer

GATEWAY = r"/ex/jira/(?P<cloud>[^/]+)/rest/api/3"
WORKFLOW = {"To Do": ["In Progress"], "In Progress": ["Done", "To Do"], "Done": ["To Do"]}


class JiraEmulator(OAuthProvider):
    def __init__(self) -> None:
        super().__init__(providers()["jira"])
        self.sites: list[dict[str, Any]] = []
        self.projects: dict[str, dict[str, Any]] = {}
        self.issues: dict[str, dict[str, Any]] = {}
        self._ids = itertools.count(10001)
        self.route("GET", "/oauth/token/accessible-resources", self.resources)
        self.route("GET", GATEWAY + "/myself", self.myself)
        self.route("POST", GATEWAY + "/search/jql", self.search)
        self.route("POST", GATEWAY + "/issue", self.create)
        self.route("GET", GATEWAY + r"/issue/(?P<key>[A-Z0-9]+-\d+)", self.get)
        self.route("GET", GATEWAY + r"/issue/(?P<key>[A-Z0-9]+-\d+)/transitions", self.transitions)
        self.route("POST", GATEWAY + r"/issue/(?P<key>[A-Z0-9]+-\d+)/transitions", self.transition)
        self.route("POST", GATEWAY + r"/issue/(?P<key>[A-Z0-9]+-\d+)/comment", self.comment)
        self.add_site("acme.atlassian.net")

    def add_site(self, host: str) -> dict:
        site = {
            "id": f"cloud-{len(self.sites) + 1}",
            "url": f"https://{host}",
            "name": host.split(".")[0],
            "scopes": ["read:jira-work", "write:jira-work"],
        }
        self.sites.append(site)
        return site

    def add_project(self, key: str, members: list[str]) -> dict:
        project = {"key": key, "members": set(members), "counter": itertools.count(1)}
        self.projects[key] = project
        return project

    def add_issue(
        self, project_key: str, summary: str, *, reporter: str, description: str = ""
    ) -> dict:
        number = next(self.projects[project_key]["counter"])
        issue = {
            "id": str(next(self._ids)),
            "key": f"{project_key}-{number}",
            "project": project_key,
            "summary": summary,
            "status": "To Do",
            "type": "Task",
            "reporter": reporter,
            "assignee": None,
            "description": description,
            "comments": [],
        }
        self.issues[issue["key"]] = issue
        return issue

    def unauthorized(self):
        return 401, {"code": 401, "message": "Unauthorized"}

    def forbidden(self, missing):
        return 403, {"errorMessages": [f"scope does not match: {' '.join(missing)}"]}

    def _user(self, handler, scope: str) -> dict:
        return self.require(handler, scope)

    def _issue(self, user: dict, key: str) -> dict:
        issue = self.issues.get(key)
        if issue is None or user["id"] not in self.projects[issue["project"]]["members"]:
            raise Answer(
                404,
                {
                    "errorMessages": [
                        "Issue does not exist or you do not have permission to see it."
                    ],
                    "errors": {},
                },
            )
        return issue

    def _doc(self, text: str) -> dict:
        return {
            "type": "doc",
            "version": 1,
            "content": [{"type": "paragraph", "content": [{"type": "text", "text": text}]}],
        }

    def _json(self, issue: dict) -> dict:
        def name(uid):
            return {"displayName": self.users[uid]["name"], "accountId": uid} if uid else None

        return {
            "id": issue["id"],
            "key": issue["key"],
            "fields": {
                "summary": issue["summary"],
                "status": {"name": issue["status"]},
                "issuetype": {"name": issue["type"]},
                "priority": {"name": "Medium"},
                "assignee": name(issue["assignee"]),
                "reporter": name(issue["reporter"]),
                "updated": "2026-11-24T10:00:00.000+0000",
                "description": self._doc(issue["description"]) if issue["description"] else None,
                "comment": {"comments": issue["comments"]},
            },
        }

    def resources(self, handler, match, query, body):
        self.require(handler)
        return 200, {}, self.sites

    def myself(self, handler, match, query, body):
        user = self._user(handler, "read:jira-user")
        return (
            200,
            {},
            {"accountId": user["id"], "emailAddress": user["email"], "displayName": user["name"]},
        )

    def search(self, handler, match, query, body):
        user = self._user(handler, "read:jira-work")
        jql = self.json_body(body).get("jql", "")
        if "project" not in jql.lower():
            raise Answer(
                400, {"errorMessages": ["Unbounded JQL queries are not allowed."], "errors": {}}
            )
        key = jql.split("=", 1)[1].split()[0].strip("'\" ")
        found = [
            i
            for i in self.issues.values()
            if i["project"] == key and user["id"] in self.projects[key]["members"]
        ]
        return 200, {}, {"issues": [self._json(i) for i in found]}

    def get(self, handler, match, query, body):
        return 200, {}, self._json(self._issue(self._user(handler, "read:jira-work"), match["key"]))

    def create(self, handler, match, query, body):
        user = self._user(handler, "write:jira-work")
        fields = self.json_body(body).get("fields") or {}
        key = (fields.get("project") or {}).get("key")
        if key not in self.projects or user["id"] not in self.projects[key]["members"]:
            raise Answer(
                400, {"errorMessages": [], "errors": {"project": "valid project is required"}}
            )
        if not fields.get("summary"):
            raise Answer(
                400,
                {
                    "errorMessages": [],
                    "errors": {"summary": "You must specify a summary of the issue."},
                },
            )
        description = "".join(
            p["content"][0]["text"]
            for p in (fields.get("description") or {}).get("content", [])
            if p.get("content")
        )
        issue = self.add_issue(key, fields["summary"], reporter=user["id"], description=description)
        issue["type"] = (fields.get("issuetype") or {}).get("name", "Task")
        if fields.get("assignee"):
            issue["assignee"] = fields["assignee"]["accountId"]
        return (
            201,
            {},
            {"id": issue["id"], "key": issue["key"], "self": "https://api.atlassian.com/x"},
        )

    def transitions(self, handler, match, query, body):
        issue = self._issue(self._user(handler, "read:jira-work"), match["key"])
        return (
            200,
            {},
            {
                "transitions": [
                    {"id": f"t-{to}", "name": f"Move to {to}", "to": {"name": to}}
                    for to in WORKFLOW[issue["status"]]
                ]
            },
        )

    def transition(self, handler, match, query, body):
        issue = self._issue(self._user(handler, "write:jira-work"), match["key"])
        target = (self.json_body(body).get("transition") or {}).get("id", "").removeprefix("t-")
        if target not in WORKFLOW[issue["status"]]:
            raise Answer(
                400, {"errorMessages": ["Transition id is not valid for this issue."], "errors": {}}
            )
        issue["status"] = target
        return 204, {}, b""

    def comment(self, handler, match, query, body):
        user = self._user(handler, "write:jira-work")
        issue = self._issue(user, match["key"])
        comment = {
            "id": str(next(self._ids)),
            "author": {"displayName": user["name"]},
            "body": self.json_body(body).get("body"),
            "created": "2026-11-25T10:00:00.000+0000",
        }
        issue["comments"].append(comment)
        return 201, {}, comment
