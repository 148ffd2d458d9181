"""A GitHub emulator: the OAuth of the catalog entry plus the REST routes the tools use.

Repositories have members: a private repository is a 404 for anyone else (as GitHub
hides it), a public one is readable by all and writable by members only (403). The
`repo` scope is required for repository routes. Rate limits answer like GitHub's:
403 with `x-ratelimit-remaining: 0` and `x-ratelimit-reset`.
Controls: add_repo, add_issue, add_pull, rate_limit_next(n).
"""

from __future__ import annotations

import itertools
import time
from typing import Any

from connections.providers import providers
from connections.providers.emulation.oauth import OAuthProvider
from connections.providers.emulation.parts import Answer

OWNER_REPO = r"/repos/(?P<owner>[^/]+)/(?P<name>[^/]+)"


class GitHubEmulator(OAuthProvider):
    def __init__(self) -> None:
        super().__init__(providers()["github"])
        self.repos: dict[str, dict[str, Any]] = {}
        self._numbers = itertools.count(1)
        self._rate_limited = 0
        self.route("GET", "/user", self.me)
        self.route("GET", "/user/repos", self.user_repos)
        self.route("GET", OWNER_REPO + "/issues", self.list_issues)
        self.route("POST", OWNER_REPO + "/issues", self.create_issue)
        self.route("GET", OWNER_REPO + r"/issues/(?P<number>\d+)", self.get_issue)
        self.route("PATCH", OWNER_REPO + r"/issues/(?P<number>\d+)", self.update_issue)
        self.route("POST", OWNER_REPO + r"/issues/(?P<number>\d+)/comments", self.comment)
        self.route("GET", OWNER_REPO + "/pulls", self.list_pulls)
        self.route("GET", OWNER_REPO + r"/pulls/(?P<number>\d+)", self.get_pull)
        self.route("GET", "/search/issues", self.search)

    # --- set-up --------------------------------------------------------------------------
    def add_user(self, user_id: str, name: str, email: str, **extra: Any) -> dict:
        return super().add_user(
            user_id, name, email, login=extra.pop("login", name.lower()), **extra
        )

    def label_of(self, user_id: str) -> str:
        return self.users[user_id]["login"]

    def add_repo(self, full_name: str, *, members: list[str], private: bool = True) -> dict:
        repo = {"full_name": full_name, "private": private, "members": set(members), "issues": {}}
        self.repos[full_name] = repo
        return repo

    def add_issue(
        self, full_name: str, title: str, *, author: str, pull: bool = False, **fields: Any
    ) -> dict:
        number = next(self._numbers)
        issue = {
            "number": number,
            "title": title,
            "body": fields.pop("body", ""),
            "state": "open",
            "labels": [{"name": n} for n in fields.pop("labels", [])],
            "assignees": [{"login": a} for a in fields.pop("assignees", [])],
            "user": {"login": author},
            "comments_list": [],
            "html_url": f"https://github.com/{full_name}/issues/{number}",
            "repository_url": f"https://api.github.com/repos/{full_name}",
            "created_at": "2026-11-20T10:00:00Z",
            "updated_at": "2026-11-20T10:00:00Z",
            "is_pull": pull,
            "head": {"ref": "feature"},
            "base": {"ref": "main"},
        }
        self.repos[full_name]["issues"][number] = issue
        return issue

    def rate_limit_next(self, n: int = 1) -> None:
        self._rate_limited = n

    # --- helpers -------------------------------------------------------------------------
    def _caller(self, handler) -> dict:
        if self._rate_limited:
            self._rate_limited -= 1
            raise Answer(
                403,
                {"message": "API rate limit exceeded for user."},
                x_ratelimit_remaining="0",
                x_ratelimit_reset=str(int(time.time()) + 42),
            )
        return self.require(handler, "repo")

    def _repo(self, match, user: dict, *, write: bool = False) -> dict:
        repo = self.repos.get(f"{match['owner']}/{match['name']}")
        member = repo is not None and user["login"] in repo["members"]
        if repo is None or (repo["private"] and not member):
            raise Answer(404, {"message": "Not Found"})
        if write and not member:
            raise Answer(403, {"message": "Must have push access to this repository."})
        return repo

    def _issue(self, repo: dict, number: str) -> dict:
        issue = repo["issues"].get(int(number))
        if issue is None:
            raise Answer(404, {"message": "Not Found"})
        return issue

    def _issue_json(self, issue: dict) -> dict:
        data = {
            k: v for k, v in issue.items() if k not in ("comments_list", "is_pull", "head", "base")
        }
        data["comments"] = len(issue["comments_list"])
        if issue["is_pull"]:
            data["pull_request"] = {"url": issue["html_url"]}
        return data

    # --- routes --------------------------------------------------------------------------
    def me(self, handler, match, query, body):
        user = self.require(handler, "read:user")
        return (
            200,
            {},
            {
                "id": int(user["id"]) if user["id"].isdigit() else user["id"],
                "login": user["login"],
                "name": user["name"],
                "email": user["email"],
                "html_url": f"https://github.com/{user['login']}",
            },
        )

    def user_repos(self, handler, match, query, body):
        user = self._caller(handler)
        visible = [r for r in self.repos.values() if user["login"] in r["members"]]
        return (
            200,
            {},
            [
                {
                    "full_name": r["full_name"],
                    "private": r["private"],
                    "description": None,
                    "html_url": f"https://github.com/{r['full_name']}",
                    "default_branch": "main",
                    "open_issues_count": len(r["issues"]),
                    "updated_at": "2026-11-20T10:00:00Z",
                }
                for r in visible[: int(query.get("per_page", 30))]
            ],
        )

    def list_issues(self, handler, match, query, body):
        repo = self._repo(match, self._caller(handler))
        state = query.get("state", "open")
        issues = [i for i in repo["issues"].values() if state == "all" or i["state"] == state]
        return 200, {}, [self._issue_json(i) for i in issues][: int(query.get("per_page", 30))]

    def create_issue(self, handler, match, query, body):
        user = self._caller(handler)
        repo = self._repo(match, user, write=True)
        data = self.json_body(body)
        if not data.get("title"):
            raise Answer(
                422,
                {
                    "message": "Validation Failed",
                    "errors": [{"resource": "Issue", "field": "title", "code": "missing_field"}],
                },
            )
        issue = self.add_issue(
            repo["full_name"],
            data["title"],
            author=user["login"],
            body=data.get("body", ""),
            labels=data.get("labels", []),
            assignees=data.get("assignees", []),
        )
        return 201, {}, self._issue_json(issue)

    def get_issue(self, handler, match, query, body):
        repo = self._repo(match, self._caller(handler))
        return 200, {}, self._issue_json(self._issue(repo, match["number"]))

    def update_issue(self, handler, match, query, body):
        repo = self._repo(match, self._caller(handler), write=True)
        issue = self._issue(repo, match["number"])
        data = self.json_body(body)
        if data.get("state") not in (None, "open", "closed"):
            raise Answer(
                422,
                {"message": "Validation Failed", "errors": [{"field": "state", "code": "invalid"}]},
            )
        for field in ("title", "body", "state"):
            if field in data:
                issue[field] = data[field]
        if "labels" in data:
            issue["labels"] = [{"name": n} for n in data["labels"]]
        if "assignees" in data:
            issue["assignees"] = [{"login": a} for a in data["assignees"]]
        return 200, {}, self._issue_json(issue)

    def comment(self, handler, match, query, body):
        user = self._caller(handler)
        repo = self._repo(match, user, write=True)
        issue = self._issue(repo, match["number"])
        comment = {
            "id": 900 + len(issue["comments_list"]),
            "body": self.json_body(body).get("body"),
            "user": {"login": user["login"]},
            "html_url": issue["html_url"] + "#comment",
            "created_at": "2026-11-25T10:00:00Z",
        }
        issue["comments_list"].append(comment)
        return 201, {}, comment

    def list_pulls(self, handler, match, query, body):
        repo = self._repo(match, self._caller(handler))
        return 200, {}, [self._pull_json(i) for i in repo["issues"].values() if i["is_pull"]]

    def get_pull(self, handler, match, query, body):
        repo = self._repo(match, self._caller(handler))
        issue = self._issue(repo, match["number"])
        if not issue["is_pull"]:
            raise Answer(404, {"message": "Not Found"})
        return (
            200,
            {},
            {
                **self._pull_json(issue),
                "mergeable": True,
                "additions": 10,
                "deletions": 2,
                "changed_files": 1,
            },
        )

    def _pull_json(self, issue: dict) -> dict:
        return {
            **self._issue_json(issue),
            "draft": False,
            "merged": False,
            "head": issue["head"],
            "base": issue["base"],
        }

    def search(self, handler, match, query, body):
        user = self._caller(handler)
        words = query.get("q", "").split()
        terms = [w for w in words if ":" not in w]
        items = [
            self._issue_json(i)
            for r in self.repos.values()
            if not r["private"] or user["login"] in r["members"]
            for i in r["issues"].values()
            if all(t.lower() in i["title"].lower() for t in terms)
        ]
        return 200, {}, {"total_count": len(items), "items": items}
