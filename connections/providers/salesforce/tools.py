"""salesforce's tools."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from connections.providers.schema import compact, json_object_text, obj, required_text, text
from connections.tooling import ToolContext, ToolInvalid, Toolset, json_object

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


def _record(raw: dict) -> dict[str, Any]:
    attributes = raw.get("attributes") or {}
    fields = {k: v for k, v in raw.items() if k != "attributes" and v is not None}
    return compact({"type": attributes.get("type"), **fields})


toolset = Toolset(scopes=("api",))


@toolset.read(
    "salesforce_soql_query",
    'Run a SOQL query as the user, e.g. "SELECT Id, Name, StageName FROM '
    'Opportunity WHERE CloseDate = THIS_QUARTER LIMIT 20". Sharing rules apply.',
    obj(
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
)
def soql_query(ctx: ToolContext, params: dict) -> dict:
    found = ctx.get("/query", params={"q": params["query"]})
    records = [_record(r) for r in found.get("records") or []][: params.get("limit", 200)]
    return {"total": found.get("totalSize"), "done": found.get("done"), "records": records}


@toolset.read(
    "salesforce_get_record",
    "One record by object and id, with all its fields or the ones named.",
    obj(
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
)
def get_record(ctx: ToolContext, params: dict) -> dict:
    query = {"fields": ",".join(params["fields"])} if params.get("fields") else None
    path = f"/sobjects/{quote(params['object'], safe='')}/{quote(params['id'], safe='')}"
    return _record(ctx.get(path, params=query))


@toolset.write(
    "salesforce_create_record",
    "Create a record (an Account, Contact, Opportunity, Case, Task…) with field "
    "values. Returns its id.",
    obj({"object": SOBJECT, "fields": FIELDS}, ["object", "fields"]),
)
def create_record(ctx: ToolContext, params: dict) -> dict:
    created = ctx.post(f"/sobjects/{quote(params['object'], safe='')}", json=_fields(params))
    return compact(
        {"id": created.get("id"), "object": params["object"], "success": created.get("success")}
    )


@toolset.write(
    "salesforce_update_record",
    "Change field values of a record.",
    obj({"object": SOBJECT, "id": RECORD_ID, "fields": FIELDS}, ["object", "id", "fields"]),
)
def update_record(ctx: ToolContext, params: dict) -> dict:
    path = f"/sobjects/{quote(params['object'], safe='')}/{quote(params['id'], safe='')}"
    fields = _fields(params)
    ctx.patch(path, json=fields)  # 204 No Content on success
    return {"id": params["id"], "object": params["object"], "updated": sorted(fields)}


TOOLS = toolset.tools
