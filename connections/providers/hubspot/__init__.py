"""HubSpot CRM, as the user who installed the app.

https://developers.hubspot.com/docs/api-reference/auth-oauth-v3/guide: the date-based
OAuth endpoints (`/oauth/2026-03/token`, `…/token/revoke`) replace v1, which is retired
on 2027-02-16; parameters go in the form body. Access tokens last 30 minutes; refresh
tokens are long-lived and not rotated. The token answer carries the account (`hub_id`);
who the user is comes from the token's own metadata (`fetch_identity`).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from connections.errors import ToolInvalid
from connections.oauth_client import TokenResponse
from connections.providers.schema import compact, json_object_text, limit, obj, required_text, text
from connections.tooling import Tool, ToolContext, json_object

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

ENTRY = {
    "key": "hubspot",
    "display_name": "HubSpot",
    "docs_url": "https://developers.hubspot.com/docs/api-reference/auth-oauth-v3/guide",
    "setup": {
        "register_url": "https://app.hubspot.com/developer",
        "notes": "Create an app (legacy or project), set the redirect URL and the required "
        "scopes below exactly: HubSpot refuses installs whose scopes differ.",
    },
    "oauth": {
        "authorize_url": "https://app.hubspot.com/oauth/authorize",
        "token_url": "https://api.hubapi.com/oauth/2026-03/token",
        "scope_separator": " ",
        "default_scopes": ["oauth", READ, WRITE],
        "scopes": {
            "oauth": "Required by HubSpot for every app.",
            READ: "Read contacts.",
            WRITE: "Create and change contacts and their notes.",
        },
        "pkce": "supported",
        "client_auth": "client_secret_post",
        "token_body": "form",
        "keep": {"hub_id": "hub_id"},
    },
    "refresh": {"rotates": False},
    "revoke": {
        "url": "https://api.hubapi.com/oauth/2026-03/token/revoke",
        "method": "POST",
        "auth": "client_secret_post",
        "body": "form",
        "token_param": "token",
        "token": "refresh_token",
    },
    "api": {
        "base_url": "https://api.hubapi.com",
        "rate_limit": {
            "retry_after": ["retry-after"],
            "remaining": "x-hubspot-ratelimit-remaining",
        },
    },
    # fetch_identity below: the user is in the token's metadata, addressed by the token.
    "whoami": {"id": "user_id", "label": ["user"]},
}


def fetch_identity(ctx: ToolContext, token: TokenResponse) -> tuple[str, str]:
    info = ctx.get(f"/oauth/v1/access-tokens/{quote(ctx.access_token, safe='')}")
    return str(info.get("user_id") or ""), str(info.get("user") or "")


def _contact(raw: dict) -> dict[str, Any]:
    properties = raw.get("properties") or {}
    return compact(
        {
            "id": raw.get("id"),
            **{name: properties.get(name) for name in CONTACT_PROPERTIES},
            "updated_at": raw.get("updatedAt"),
        }
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


def create_contact(ctx: ToolContext, params: dict) -> dict:
    return _contact(ctx.post("/crm/v3/objects/contacts", json={"properties": _properties(params)}))


def update_contact(ctx: ToolContext, params: dict) -> dict:
    properties = _properties(params)
    if not properties:
        raise ToolInvalid("Say which properties to change.")
    contact_id = quote(params["contact_id"], safe="")
    return _contact(
        ctx.patch(f"/crm/v3/objects/contacts/{contact_id}", json={"properties": properties})
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

TOOLS = (
    Tool(
        name="hubspot_search_contacts",
        description="Find contacts by free text (name, email, company…) or by exact email: id, "
        "name, email, company, phone, lifecycle stage.",
        input_schema=obj(
            {
                "query": text("Free text.", max_length=200),
                "email": text("An exact email address.", max_length=254),
                "limit": limit(20, 100),
            }
        ),
        required_scopes=(READ,),
        write=False,
        handler=search_contacts,
    ),
    Tool(
        name="hubspot_get_contact",
        description="One contact by id or email address.",
        input_schema=obj(
            {"contact": required_text("The contact's id or email.", max_length=254)}, ["contact"]
        ),
        required_scopes=(READ,),
        write=False,
        handler=get_contact,
    ),
    Tool(
        name="hubspot_create_contact",
        description="Create a contact with an email and other properties. Returns it with its id.",
        input_schema=obj(CONTACT_FIELDS, ["email"]),
        required_scopes=(WRITE,),
        write=True,
        handler=create_contact,
    ),
    Tool(
        name="hubspot_update_contact",
        description="Change a contact's properties (name, company, phone, lifecycle stage, …).",
        input_schema=obj(
            {"contact_id": CONTACT_ID, **CONTACT_FIELDS}, ["contact_id"], minProperties=2
        ),
        required_scopes=(WRITE,),
        write=True,
        handler=update_contact,
    ),
    Tool(
        name="hubspot_create_note",
        description="Log a note on a contact's timeline as the user.",
        input_schema=obj(
            {
                "contact_id": CONTACT_ID,
                "body": required_text("The note (HTML allowed).", max_length=65_000),
            },
            ["contact_id", "body"],
        ),
        required_scopes=(WRITE,),
        write=True,
        handler=create_note,
    ),
)
