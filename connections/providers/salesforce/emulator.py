"""A Salesforce emulator: OAuth with the login host in the path, a token answer without
`expires_in` but with `instance_url` (this server), userinfo, and the REST query and
sObject routes the tools use. Records have an owner; private records are visible to
their owner only (sharing rules). SOQL is a small subset: SELECT fields FROM object
[WHERE field = 'value'] [LIMIT n]. Controls: add_record."""

from __future__ import annotations

import itertools
import re
from typing import Any

from connections.providers import providers
from connections.providers.emulation.oauth import OAuthProvider
from connections.providers.emulation.parts import Answer

BASE = "/services/data/v62.0"
SOQL = re.compile(
    r"^\s*SELECT\s+(?P<fields>.+?)\s+FROM\s+(?P<object>\w+)(?:\s+WHERE\s+(?P<field>\w+)\s*=\s*'(?P<value>[^']*)')?(?:\s+LIMIT\s+(?P<limit>\d+))?\s*$",
    re.IGNORECASE,
)


class SalesforceEmulator(OAuthProvider):
    def __init__(self) -> None:
        super().__init__(providers()["salesforce"])
        self.records: dict[str, dict[str, Any]] = {}
        self._ids = itertools.count(1)
        self.route("GET", "/services/oauth2/userinfo", self.userinfo)
        self.route("GET", BASE + "/query", self.query)
        self.route("POST", BASE + r"/sobjects/(?P<object>\w+)", self.create)
        self.route("GET", BASE + r"/sobjects/(?P<object>\w+)/(?P<id>\w+)", self.get)
        self.route("PATCH", BASE + r"/sobjects/(?P<object>\w+)/(?P<id>\w+)", self.update)

    def add_record(
        self, object_name: str, *, owner: str, private: bool = False, **fields: Any
    ) -> dict:
        record_id = f"001{next(self._ids):012d}AAA"
        record = {
            "Id": record_id,
            "object": object_name,
            "owner": owner,
            "private": private,
            "fields": dict(fields),
        }
        self.records[record_id] = record
        return record

    def unauthorized(self):
        return 401, [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]

    def _user(self, handler) -> dict:
        return self.require(handler, "api")

    def _visible(self, user: dict, record: dict | None) -> bool:
        return record is not None and (not record["private"] or record["owner"] == user["id"])

    def _json(self, record: dict, fields: list[str] | None = None) -> dict:
        values = {"Id": record["Id"], **record["fields"]}
        if fields:
            values = {f: values.get(f) for f in fields}
        return {
            "attributes": {
                "type": record["object"],
                "url": f"{BASE}/sobjects/{record['object']}/{record['Id']}",
            },
            **values,
        }

    def userinfo(self, handler, match, query, body):
        user = self.require(handler)
        return (
            200,
            {},
            {
                "user_id": user["id"],
                "email": user["email"],
                "preferred_username": user["email"],
                "name": user["name"],
            },
        )

    def query(self, handler, match, query, body):
        user = self._user(handler)
        parsed = SOQL.match(query.get("q", ""))
        if parsed is None:
            raise Answer(400, [{"message": "unexpected token", "errorCode": "MALFORMED_QUERY"}])
        fields = [f.strip() for f in parsed["fields"].split(",")]
        rows = [
            r
            for r in self.records.values()
            if r["object"].lower() == parsed["object"].lower() and self._visible(user, r)
        ]
        if parsed["field"]:
            rows = [r for r in rows if str(self._json(r).get(parsed["field"])) == parsed["value"]]
        if parsed["limit"]:
            rows = rows[: int(parsed["limit"])]
        return (
            200,
            {},
            {
                "totalSize": len(rows),
                "done": True,
                "records": [self._json(r, fields) for r in rows],
            },
        )

    def create(self, handler, match, query, body):
        user = self._user(handler)
        fields = self.json_body(body)
        if match["object"] == "Account" and not fields.get("Name"):
            raise Answer(
                400,
                [
                    {
                        "message": "Required fields are missing: [Name]",
                        "errorCode": "REQUIRED_FIELD_MISSING",
                    }
                ],
            )
        record = self.add_record(match["object"], owner=user["id"], **fields)
        return 201, {}, {"id": record["Id"], "success": True, "errors": []}

    def _record(self, user: dict, match) -> dict:
        record = self.records.get(match["id"])
        if not self._visible(user, record) or record["object"] != match["object"]:
            raise Answer(
                404,
                [{"message": "The requested resource does not exist", "errorCode": "NOT_FOUND"}],
            )
        return record

    def get(self, handler, match, query, body):
        user = self._user(handler)
        fields = query["fields"].split(",") if query.get("fields") else None
        return 200, {}, self._json(self._record(user, match), fields)

    def update(self, handler, match, query, body):
        record = self._record(self._user(handler), match)
        record["fields"].update(self.json_body(body))
        return 204, {}, b""
