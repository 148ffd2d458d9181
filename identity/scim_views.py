"""/scim/v2/: the HTTP side of SCIM (RFC 7644). Thin: authenticate the identity
provider's bearer token, read the body, call identity/scim.py, answer
application/scim+json. Errors are SCIM's own shape (RFC 7644 §3.12: schemas, status,
scimType, detail) — what SCIM clients parse — not the REST API's {"error": …}."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from scim2_models import (
    Context,
    EnterpriseUser,
    Error,
    Group,
    ResourceType,
    ResponseParameters,
    SearchRequest,
    ServiceProviderConfig,
    User,
)

from identity import scim, scim_query, scim_tokens
from identity.models import ScimUser
from identity.scim_query import ScimError

CONTENT_TYPE = "application/scim+json"
LIST_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:ListResponse"


def respond(data: Any, status: int = 200, headers: dict | None = None) -> HttpResponse:
    response = HttpResponse(json.dumps(data, default=str), status=status, content_type=CONTENT_TYPE)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def error(status: int, detail: str, scim_type: str = "") -> HttpResponse:
    body = Error(status=status, detail=detail, scim_type=scim_type or None).model_dump()
    headers = {"WWW-Authenticate": 'Bearer realm="scim"'} if status == 401 else None
    return respond(body, status, headers)


def endpoint(methods: set[str]) -> Callable:
    """A SCIM view: the bearer token names the organization (request.caller); the body
    is JSON; a ScimError becomes its response."""

    def wrap(view: Callable) -> Callable:
        @csrf_exempt
        @wraps(view)
        def run(request: HttpRequest, **kwargs: Any) -> HttpResponse:
            scheme, _, raw = request.headers.get("Authorization", "").partition(" ")
            caller = scim_tokens.authenticate(raw.strip()) if scheme.lower() == "bearer" else None
            if caller is None:
                return error(401, "A valid SCIM bearer token is required.")
            if request.method not in methods:
                return error(405, f"{request.method} is not supported here.")
            request.caller = caller  # type: ignore[attr-defined]
            try:
                return view(request, caller=caller, **kwargs)
            except ScimError as exc:
                return error(exc.status, exc.detail, exc.scim_type)

        return run

    return wrap


def body_of(request: HttpRequest) -> Any:
    try:
        return json.loads(request.body or b"null")
    except (ValueError, UnicodeDecodeError):
        raise ScimError(400, "The body is not JSON.", "invalidSyntax") from None


def base_url(request: HttpRequest) -> str:
    return request.build_absolute_uri("/scim/v2").rstrip("/")


def query_of(request: HttpRequest, model: Any) -> dict[str, Any]:
    """A list's query: the URL's parameters (GET), or a SearchRequest body (POST
    …/.search), validated by scim2-models."""
    if request.method == "POST":
        raw = body_of(request)
        if not isinstance(raw, dict):
            raise ScimError(400, "A search request is a JSON object.", "invalidSyntax")
        scim_query.parse(SearchRequest[model], raw, Context.SEARCH_REQUEST)
        return raw
    query = {name: request.GET.get(name) for name in ("filter", "startIndex", "count")}
    return query | query_of_get(request)


def parameters(query: dict[str, Any]) -> ResponseParameters:
    try:
        return ResponseParameters(
            attributes=query.get("attributes") or None,
            excluded_attributes=query.get("excludedAttributes") or None,
        )
    except ValueError as exc:
        raise ScimError(400, f"Attributes not understood: {exc}", "invalidValue") from None


def shaped(model: Any, data: dict, query: dict[str, Any]) -> dict:
    """The resource as the client asked (attributes / excludedAttributes)."""
    resource = scim_query.parse(model, data, Context.RESOURCE_QUERY_RESPONSE)
    return resource.model_dump(
        scim_ctx=Context.RESOURCE_QUERY_RESPONSE, response_parameters=parameters(query)
    )


def answer(request: HttpRequest, row: Any, status: int = 200) -> HttpResponse:
    is_user = isinstance(row, ScimUser)
    build = scim_query.user_resource if is_user else scim_query.group_resource
    data = build(row, base=base_url(request))
    return respond(
        shaped(scim_query.UserResource if is_user else Group, data, query_of_get(request)),
        status,
        {"Location": data["meta"]["location"], "ETag": data["meta"]["version"]},
    )


def query_of_get(request: HttpRequest) -> dict[str, Any]:
    split = lambda name: [a for a in request.GET.get(name, "").split(",") if a.strip()]  # noqa: E731
    return {"attributes": split("attributes"), "excludedAttributes": split("excludedAttributes")}


def listing(request: HttpRequest, caller: Any, kind: str) -> HttpResponse:
    model = scim_query.UserResource if kind == "User" else Group
    query = query_of(request, model)
    base = base_url(request)
    build = scim_query.user_resource if kind == "User" else scim_query.group_resource
    page = scim_query.page(
        scim.users(caller=caller) if kind == "User" else scim.groups(caller=caller),
        expression=query.get("filter") or "",
        attr_map=scim_query.USER_FILTERS if kind == "User" else scim_query.GROUP_FILTERS,
        start=query.get("startIndex"),
        count=query.get("count"),
    )
    return respond(
        {
            "schemas": [LIST_SCHEMA],
            "totalResults": page.total,
            "startIndex": page.start_index,
            "itemsPerPage": len(page.items),
            "Resources": [shaped(model, build(item, base=base), query) for item in page.items],
        }
    )


@endpoint({"GET", "POST"})
def users(request: HttpRequest, caller: Any) -> HttpResponse:
    if request.method == "POST":
        created = scim.create_user(caller=caller, payload=body_of(request), request=request)
        return answer(request, created, 201)
    return listing(request, caller, "User")


@endpoint({"POST"})
def search_everything(request: HttpRequest, caller: Any) -> HttpResponse:
    raise ScimError(
        501,
        "Searching every resource type at once is not supported: POST /Users/.search "
        "or /Groups/.search.",
    )


@endpoint({"POST"})
def search_users(request: HttpRequest, caller: Any) -> HttpResponse:
    return listing(request, caller, "User")


@endpoint({"POST"})
def search_groups(request: HttpRequest, caller: Any) -> HttpResponse:
    return listing(request, caller, "Group")


@endpoint({"GET", "PUT", "PATCH", "DELETE"})
def user(request: HttpRequest, caller: Any, scim_id: str) -> HttpResponse:
    if request.method == "GET":
        return answer(request, scim.get_user(caller=caller, scim_id=scim_id))
    if request.method == "DELETE":
        scim.delete_user(caller=caller, scim_id=scim_id, request=request)
        return HttpResponse(status=204)
    change = scim.replace_user if request.method == "PUT" else scim.patch_user
    changed = change(caller=caller, scim_id=scim_id, payload=body_of(request), request=request)
    return answer(request, changed)


@endpoint({"GET", "POST"})
def groups(request: HttpRequest, caller: Any) -> HttpResponse:
    if request.method == "POST":
        created = scim.create_group(caller=caller, payload=body_of(request), request=request)
        return answer(request, created, 201)
    return listing(request, caller, "Group")


@endpoint({"GET", "PUT", "PATCH", "DELETE"})
def group(request: HttpRequest, caller: Any, group_id: str) -> HttpResponse:
    if request.method == "GET":
        return answer(request, scim.get_group(caller=caller, scim_id=group_id))
    if request.method == "DELETE":
        scim.delete_group(caller=caller, scim_id=group_id, request=request)
        return HttpResponse(status=204)
    change = scim.replace_group if request.method == "PUT" else scim.patch_group
    changed = change(caller=caller, scim_id=group_id, payload=body_of(request), request=request)
    return answer(request, changed)


# --- discovery (RFC 7644 §4) ----------------------------------------------------


def _service_provider_config(base: str) -> dict:
    config = ServiceProviderConfig.model_validate(
        {
            "documentationUri": "https://github.com/agent-portal/agent-portal#enterprise-sign-in-and-provisioning",
            "patch": {"supported": True},
            "bulk": {"supported": False, "maxOperations": 0, "maxPayloadSize": 0},
            "filter": {"supported": True, "maxResults": scim_query.MAX_RESULTS},
            "changePassword": {"supported": False},
            "sort": {"supported": False},
            "etag": {"supported": False},
            "authenticationSchemes": [
                {
                    "type": "oauthbearertoken",
                    "name": "Bearer token",
                    "description": "A SCIM token made on the Identity page.",
                    "primary": True,
                }
            ],
            "meta": {
                "resourceType": "ServiceProviderConfig",
                "location": f"{base}/ServiceProviderConfig",
            },
        }
    )
    return config.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE)


def _schemas(base: str) -> list[dict]:
    found = []
    for model in (User, EnterpriseUser, Group):
        schema = model.to_schema()
        data = schema.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE)
        data["meta"] = {"resourceType": "Schema", "location": f"{base}/Schemas/{schema.id}"}
        found.append(data)
    return found


def _resource_types(base: str) -> list[dict]:
    found = []
    for model in (scim_query.UserResource, Group):
        kind = ResourceType.from_resource(model)
        data = kind.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE)
        data["meta"] = {
            "resourceType": "ResourceType",
            "location": f"{base}/ResourceTypes/{kind.id}",
        }
        found.append(data)
    return found


def _discovery_list(items: list[dict]) -> dict:
    return {
        "schemas": [LIST_SCHEMA],
        "totalResults": len(items),
        "startIndex": 1,
        "itemsPerPage": len(items),
        "Resources": items,
    }


@endpoint({"GET"})
def service_provider_config(request: HttpRequest, caller: Any) -> HttpResponse:
    return respond(_service_provider_config(base_url(request)))


@endpoint({"GET"})
def schemas(request: HttpRequest, caller: Any, schema_id: str = "") -> HttpResponse:
    return _one_or_all(_schemas(base_url(request)), schema_id, "schema")


@endpoint({"GET"})
def resource_types(request: HttpRequest, caller: Any, type_id: str = "") -> HttpResponse:
    return _one_or_all(_resource_types(base_url(request)), type_id, "resource type")


def _one_or_all(items: list[dict], wanted: str, what: str) -> HttpResponse:
    if not wanted:
        return respond(_discovery_list(items))
    for item in items:
        if item["id"] == wanted:
            return respond(item)
    raise ScimError(404, f"No {what} {wanted}.")


@endpoint({"GET", "POST", "PUT", "PATCH", "DELETE"})
def not_found(request: HttpRequest, caller: Any, rest: str = "") -> HttpResponse:
    raise ScimError(404, "No such SCIM endpoint.")
