"""Salesforce, through its REST API on the org's own instance.

https://help.salesforce.com/s/articleView?id=remoteaccess_oauth_web_server_flow.htm: the
login host is per connection (login.salesforce.com, test.salesforce.com for sandboxes,
or a My Domain). The token answer has **no `expires_in`**: the session lasts the org's
timeout (two hours by default), so the portal assumes two hours and refreshes on a 401
(`INVALID_SESSION_ID`) too. The API lives on the answer's `instance_url`. Refresh-token
rotation is an org setting: a returned refresh token is always kept.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from connections.providers.schema import compact, json_object_text, obj, required_text, text
from connections.tooling import Tool, ToolContext, ToolInvalid, json_object

API_VERSION = "v62.0"
SOBJECT = required_text(
    "An object API name, e.g. Account, Contact, Opportunity, Case.",
    max_length=80,
    pattern=r"^[A-Za-z][A-Za-z0-9_]*$",
)
RECORD_ID = required_text(
    "A record id (15 or 18 characters).",
    max_length=18,
    pattern=r"^[A-Za-z0-9]{15}([A-Za-z0-9]{3})?$",
)
FIELDS = json_object_text(
    'Field values by API name, e.g. {"Name": "Acme", "Industry": "Energy", '
    '"NumberOfEmployees": 50}.'
)


def _fields(params: dict) -> dict[str, Any]:
    fields = json_object(params, "fields", max_keys=100)
    if not fields:
        raise ToolInvalid("fields must name at least one field.")
    bad = sorted(k for k, v in fields.items() if isinstance(v, (dict, list)))
    if bad:
        raise ToolInvalid(f"fields take plain values (text, numbers, true/false, null): {bad}.")
    return fields


ENTRY = {
    "key": "salesforce",
    "display_name": "Salesforce",
    "docs_url": "https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_web_server_flow.htm",
    "setup": {
        "register_url": "https://login.salesforce.com/lightning/setup/NavigationMenus/home",
        "notes": "In Setup, create an External Client App (or Connected App) with OAuth, the "
        "callback URL and the scopes api and refresh_token; require PKCE if you like.",
    },
    "settings": [
        {
            "name": "login_host",
            "label": "Login host",
            "default": "login.salesforce.com",
            "pattern": r"^[a-z0-9.-]+\.(salesforce|force)\.com$",
            "help": "login.salesforce.com, test.salesforce.com (sandbox) or your My Domain "
            "(acme.my.salesforce.com).",
        }
    ],
    "oauth": {
        "authorize_url": "https://{login_host}/services/oauth2/authorize",
        "token_url": "https://{login_host}/services/oauth2/token",
        "scope_separator": " ",
        "default_scopes": ["api", "refresh_token"],
        "scopes": {
            "api": "Use the REST API as the user.",
            "refresh_token": "Keep access (a refresh token).",
            "id": "Read the user's identity.",
        },
        "pkce": "supported",
        "client_auth": "client_secret_post",
        "token_body": "form",
        "keep": {"instance_url": "instance_url"},
    },
    "refresh": {"rotates": "maybe", "default_lifetime_seconds": 7200},
    "revoke": {
        "url": "https://{login_host}/services/oauth2/revoke",
        "method": "POST",
        "auth": "none",
        "body": "form",
        "token_param": "token",
        "token": "refresh_token",
    },
    "api": {
        "base_url": "{instance_url}/services/data/" + API_VERSION,
        "rate_limit": {"retry_after": ["retry-after"]},
    },
    "whoami": {
        "url": "{instance_url}/services/oauth2/userinfo",
        "id": "user_id",
        "label": ["email", "preferred_username"],
    },
}


def _record(raw: dict) -> dict[str, Any]:
    attributes = raw.get("attributes") or {}
    fields = {k: v for k, v in raw.items() if k != "attributes" and v is not None}
    return compact({"type": attributes.get("type"), **fields})


def soql_query(ctx: ToolContext, params: dict) -> dict:
    found = ctx.get("/query", params={"q": params["query"]})
    records = [_record(r) for r in found.get("records") or []][: params.get("limit", 200)]
    return {"total": found.get("totalSize"), "done": found.get("done"), "records": records}


def get_record(ctx: ToolContext, params: dict) -> dict:
    query = {"fields": ",".join(params["fields"])} if params.get("fields") else None
    path = f"/sobjects/{quote(params['object'], safe='')}/{quote(params['id'], safe='')}"
    return _record(ctx.get(path, params=query))


def create_record(ctx: ToolContext, params: dict) -> dict:
    created = ctx.post(f"/sobjects/{quote(params['object'], safe='')}", json=_fields(params))
    return compact(
        {"id": created.get("id"), "object": params["object"], "success": created.get("success")}
    )


def update_record(ctx: ToolContext, params: dict) -> dict:
    path = f"/sobjects/{quote(params['object'], safe='')}/{quote(params['id'], safe='')}"
    fields = _fields(params)
    ctx.patch(path, json=fields)  # 204 No Content on success
    return {"id": params["id"], "object": params["object"], "updated": sorted(fields)}


TOOLS = (
    Tool(
        name="salesforce_soql_query",
        description='Run a SOQL query as the user, e.g. "SELECT Id, Name, StageName FROM '
        'Opportunity WHERE CloseDate = THIS_QUARTER LIMIT 20". Sharing rules apply.',
        input_schema=obj(
            {
                "query": required_text(
                    "A SOQL SELECT statement.",
                    max_length=10_000,
                    pattern=r"^\s*[Ss][Ee][Ll][Ee][Cc][Tt]\s",
                ),
                "limit": {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": 2000,
                    "description": "Return at most this many records (default 200).",
                },
            },
            ["query"],
        ),
        required_scopes=("api",),
        write=False,
        handler=soql_query,
    ),
    Tool(
        name="salesforce_get_record",
        description="One record by object and id, with all its fields or the ones named.",
        input_schema=obj(
            {
                "object": SOBJECT,
                "id": RECORD_ID,
                "fields": {
                    "type": "array",
                    "items": text(
                        "A field API name.", max_length=80, pattern=r"^[A-Za-z][A-Za-z0-9_.]*$"
                    ),
                    "maxItems": 100,
                    "description": "Only these fields.",
                },
            },
            ["object", "id"],
        ),
        required_scopes=("api",),
        write=False,
        handler=get_record,
    ),
    Tool(
        name="salesforce_create_record",
        description="Create a record (an Account, Contact, Opportunity, Case, Task…) with field "
        "values. Returns its id.",
        input_schema=obj({"object": SOBJECT, "fields": FIELDS}, ["object", "fields"]),
        required_scopes=("api",),
        write=True,
        handler=create_record,
    ),
    Tool(
        name="salesforce_update_record",
        description="Change field values of a record.",
        input_schema=obj(
            {"object": SOBJECT, "id": RECORD_ID, "fields": FIELDS}, ["object", "id", "fields"]
        ),
        required_scopes=("api",),
        write=True,
        handler=update_record,
    ),
)
