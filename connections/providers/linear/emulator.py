"""A Linear emulator: OAuth with comma scopes and rotating refresh tokens, and a GraphQL
endpoint that recognises the operations the tools send (not a GraphQL engine: it reads
the operation's name and every argument from `variables`). Errors are GraphQL errors
with `extensions.type`, as Linear sends them. Writes need the `write` scope.
Controls: add_team, add_issue, rate_limit_next(n)."""

from __future__ import annotations

import itertools
import time
from typing import Any

from connections.providers import providers
from connections.providers.emulation.oauth import OAuthProvider
from connections.providers.emulation.parts import Answer


class LinearEmulator(OAuthProvider):
    def __init__(self) -> None:
        super().__init__(providers()["linear"])
        self.teams: dict[str, dict[str, Any]] = {}
        self.issues: dict[str, dict[str, Any]] = {}
        self._n = itertools.count(1)
        self._rate_limited = 0
        self.route("POST", "/graphql", self.graphql)

    def add_team(
        self, key: str, name: str, *, states: tuple[str, ...] = ("Todo", "In Progress", "Done")
    ) -> dict:
        team = {
            "id": f"team-{key}",
            "key": key,
            "name": name,
            "states": [{"id": f"st-{key}-{i}", "name": s} for i, s in enumerate(states)],
            "counter": itertools.count(1),
        }
        self.teams[key] = team
        return team

    def add_issue(
        self, team_key: str, title: str, *, assignee: str | None = None, description: str = ""
    ) -> dict:
        team = self.teams[team_key]
        number = next(team["counter"])
        issue = {
            "id": f"iss-{next(self._n)}",
            "identifier": f"{team_key}-{number}",
            "title": title,
            "description": description,
            "priority": 0,
            "url": f"https://linear.app/acme/issue/{team_key}-{number}",
            "updatedAt": "2026-11-24T10:00:00.000Z",
            "state": team["states"][0],
            "assignee": assignee,
            "team": team_key,
            "comments": [],
        }
        self.issues[issue["id"]] = issue
        return issue

    def rate_limit_next(self, n: int = 1) -> None:
        self._rate_limited = n

    def label_of(self, user_id: str) -> str:
        return self.users[user_id]["email"]

    # --- GraphQL -----------------------------------------------------------------------
    def _error(self, kind: str, message: str, status: int = 200, **headers: str) -> Answer:
        return Answer(
            status,
            {
                "errors": [
                    {
                        "message": message,
                        "extensions": {"type": kind, "userPresentableMessage": message},
                    }
                ]
            },
            **headers,
        )

    def unauthorized(self):
        return 200, {
            "errors": [
                {
                    "message": "Authentication required",
                    "extensions": {"type": "authentication error"},
                }
            ]
        }

    def forbidden(self, missing):
        return 200, {
            "errors": [
                {"message": f"Missing scope(s) {missing}", "extensions": {"type": "forbidden"}}
            ]
        }

    def _find(self, key: str) -> dict:
        for issue in self.issues.values():
            if key in (issue["id"], issue["identifier"]):
                return issue
        raise self._error("invalid input", "Entity not found: Issue")

    def _issue_json(self, issue: dict) -> dict:
        assignee = self.users.get(issue["assignee"]) if issue["assignee"] else None
        return {
            **{k: v for k, v in issue.items() if k not in ("comments",)},
            "state": {"name": issue["state"]["name"]},
            "assignee": {"name": assignee["name"], "email": assignee["email"]}
            if assignee
            else None,
            "team": {"key": issue["team"], "name": self.teams[issue["team"]]["name"]},
            "comments": {"nodes": issue["comments"]},
        }

    def graphql(self, handler, match, query, body):
        if self._rate_limited:
            self._rate_limited -= 1
            raise self._error(
                "ratelimited",
                "Rate limit exceeded",
                status=400,
                x_ratelimit_requests_reset=str(int(time.time() * 1000) + 9000),
            )
        request = self.json_body(body)
        text, variables = request.get("query", ""), request.get("variables") or {}
        writing = text.lstrip().startswith("mutation")
        user = self.require(handler, "write" if writing else "read")
        if "issueCreate" in text:
            data = variables["input"]
            team = next((t for t in self.teams.values() if t["id"] == data.get("teamId")), None)
            if team is None or not data.get("title"):
                raise self._error("invalid input", "Argument Validation Error: teamId or title")
            issue = self.add_issue(
                team["key"],
                data["title"],
                assignee=user["id"] if data.get("assigneeId") == user["id"] else None,
                description=data.get("description", ""),
            )
            issue["priority"] = data.get("priority", 0)
            return (
                200,
                {},
                {"data": {"issueCreate": {"success": True, "issue": self._issue_json(issue)}}},
            )
        if "issueUpdate" in text:
            issue = self._find(variables["id"])
            data = variables["input"]
            for field in ("title", "description", "priority"):
                if field in data:
                    issue[field] = data[field]
            if "stateId" in data:
                issue["state"] = next(
                    s for s in self.teams[issue["team"]]["states"] if s["id"] == data["stateId"]
                )
            if data.get("assigneeId") == user["id"]:
                issue["assignee"] = user["id"]
            return (
                200,
                {},
                {"data": {"issueUpdate": {"success": True, "issue": self._issue_json(issue)}}},
            )
        if "commentCreate" in text:
            issue = self._find(variables["input"]["issueId"])
            comment = {
                "id": f"c{next(self._n)}",
                "body": variables["input"]["body"],
                "createdAt": "2026-11-25T10:00:00.000Z",
                "user": {"name": user["name"]},
                "url": issue["url"] + "#comment",
            }
            issue["comments"].append(comment)
            return 200, {}, {"data": {"commentCreate": {"success": True, "comment": comment}}}
        if "issues(" in text:
            found = list(self.issues.values())
            issue_filter = variables.get("filter") or {}
            if "team" in issue_filter:
                found = [i for i in found if i["team"] == issue_filter["team"]["key"]["eq"]]
            if "assignee" in issue_filter:
                found = [i for i in found if i["assignee"] == user["id"]]
            if "state" in issue_filter:
                found = [
                    i
                    for i in found
                    if i["state"]["name"].lower()
                    == issue_filter["state"]["name"]["eqIgnoreCase"].lower()
                ]
            return 200, {}, {"data": {"issues": {"nodes": [self._issue_json(i) for i in found]}}}
        if "issue(" in text:
            issue = self._find(variables["id"])
            data = self._issue_json(issue)
            data["team"]["states"] = {"nodes": self.teams[issue["team"]]["states"]}
            return 200, {}, {"data": {"issue": data}}
        if "teams" in text:
            return (
                200,
                {},
                {
                    "data": {
                        "teams": {
                            "nodes": [
                                {"id": t["id"], "key": t["key"], "name": t["name"]}
                                for t in self.teams.values()
                            ]
                        }
                    }
                },
            )
        if "viewer" in text:
            return (
                200,
                {},
                {
                    "data": {
                        "viewer": {"id": user["id"], "name": user["name"], "email": user["email"]}
                    }
                },
            )
        raise self._error("invalid input", "Unknown operation")
