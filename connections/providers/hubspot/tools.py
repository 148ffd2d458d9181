"""hubspot's tools."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from connections.errors import ToolInvalid
from connections.providers.schema import compact, json_object_text, limit, obj, required_text, text
from connections.tooling import ToolContext, Toolset, json_object

READ = "crm.objects.contacts.read"


WRITE = "crm.objects.contacts.write"


CONTACT_PROPERTIES = [
    "email",
    "firstname",
    "lastname",
    "company",
    "phone",
    "jobtitle",
    "lifecyclestage",
]


def _contact(raw: dict) -> dict[str, Any]:
    properties = raw.get("properties") or {}
    return compact(
        {
            "id": raw.get("id"),
            **{name: properties.get(name) for name in CONTACT_PROPERTIES},
            "updated_at": raw.get("updatedAt"),
        }
    )


CONTACT_FIELDS = {
    "email": text("Email address.", max_length=254),
    "firstname": text("First name.", max_length=200),
    "lastname": text("Last name.", max_length=200),
    "company": text("Company name.", max_length=200),
    "phone": text("Phone number.", max_length=50),
    "jobtitle": text("Job title.", max_length=200),
    "lifecyclestage": text("Lifecycle stage, e.g. lead, customer.", max_length=50),
    "properties": json_object_text(
        'Any other contact properties by internal name, e.g. {"city": "Berlin"}.'
    ),
}


CONTACT_ID = {"type": "string", "pattern": r"^[0-9]{1,20}$", "description": "The contact's id."}


toolset = Toolset(scopes=(WRITE,))


@toolset.read(
    "hubspot_search_contacts",
    "Find contacts by free text (name, email, company…) or by exact email: id, "
    "name, email, company, phone, lifecycle stage.",
    obj(
        {
            "query": text("Free text.", max_length=200),
            "email": text("An exact email address.", max_length=254),
            "limit": limit(20, 100),
        }
    ),
    scopes=(READ,),
)
def search_contacts(ctx: ToolContext, params: dict) -> dict:
    body: dict[str, Any] = {"properties": CONTACT_PROPERTIES, "limit": params.get("limit", 20)}
    if params.get("query"):
        body["query"] = params["query"]
    if params.get("email"):
        body["filterGroups"] = [
            {"filters": [{"propertyName": "email", "operator": "EQ", "value": params["email"]}]}
        ]
    found = ctx.post("/crm/v3/objects/contacts/search", json=body)
    return {
        "total": found.get("total"),
        "contacts": [_contact(c) for c in found.get("results") or []],
    }


@toolset.read(
    "hubspot_get_contact",
    "One contact by id or email address.",
    obj({"contact": required_text("The contact's id or email.", max_length=254)}, ["contact"]),
    scopes=(READ,),
)
def get_contact(ctx: ToolContext, params: dict) -> dict:
    query: dict[str, Any] = {"properties": CONTACT_PROPERTIES}
    contact = params["contact"]
    if "@" in contact:
        query["idProperty"] = "email"
    return _contact(ctx.get(f"/crm/v3/objects/contacts/{quote(contact, safe='@')}", params=query))


def _properties(params: dict) -> dict[str, str]:
    properties = {name: params[name] for name in CONTACT_PROPERTIES if params.get(name)}
    extra = json_object(params, "properties", max_keys=50)
    if any(not isinstance(value, str) or len(value) > 5000 for value in extra.values()):
        raise ToolInvalid("properties take text values of up to 5,000 characters.")
    properties.update(extra)
    return properties


@toolset.write(
    "hubspot_create_contact",
    "Create a contact with an email and other properties. Returns it with its id.",
    obj(CONTACT_FIELDS, ["email"]),
)
def create_contact(ctx: ToolContext, params: dict) -> dict:
    return _contact(ctx.post("/crm/v3/objects/contacts", json={"properties": _properties(params)}))


@toolset.write(
    "hubspot_update_contact",
    "Change a contact's properties (name, company, phone, lifecycle stage, …).",
    obj({"contact_id": CONTACT_ID, **CONTACT_FIELDS}, ["contact_id"], minProperties=2),
)
def update_contact(ctx: ToolContext, params: dict) -> dict:
    properties = _properties(params)
    if not properties:
        raise ToolInvalid("Say which properties to change.")
    contact_id = quote(params["contact_id"], safe="")
    return _contact(
        ctx.patch(f"/crm/v3/objects/contacts/{contact_id}", json={"properties": properties})
    )


@toolset.write(
    "hubspot_create_note",
    "Log a note on a contact's timeline as the user.",
    obj(
        {
            "contact_id": CONTACT_ID,
            "body": required_text("The note (HTML allowed).", max_length=65_000),
        },
        ["contact_id", "body"],
    ),
)
def create_note(ctx: ToolContext, params: dict) -> dict:
    from django.utils import timezone

    note = ctx.post(
        "/crm/v3/objects/notes",
        json={
            "properties": {
                "hs_note_body": params["body"],
                "hs_timestamp": timezone.now().isoformat(timespec="milliseconds"),
            },
            "associations": [
                {
                    "to": {"id": params["contact_id"]},
                    # HubSpot-defined association type 202: note to contact.
                    "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 202}],
                }
            ],
        },
    )
    return compact(
        {
            "id": note.get("id"),
            "contact_id": params["contact_id"],
            "created_at": note.get("createdAt"),
        }
    )


TOOLS = toolset.tools
