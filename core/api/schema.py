"""OpenAPI descriptions of the portal's authentication schemes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension

if TYPE_CHECKING:  # DRF's settings import these modules: no import back at run time
    from rest_framework.request import Request


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "portal.api.authentication.ApiKeyAuthentication"
    name = "apiKey"

    def get_security_definition(self, auto_schema: Any) -> Any:
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "ap_<prefix>_<secret>",
            "description": "An organization API key, created by an owner or admin.",
        }


class PortalSessionScheme(OpenApiAuthenticationExtension):
    target_class = "portal.api.authentication.SessionAuthentication"
    name = "session"

    def get_security_definition(self, auto_schema: Any) -> Any:
        return {"type": "apiKey", "in": "cookie", "name": "sessionid"}


ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string", "description": "Stable, machine-readable."},
                "message": {"type": "string", "description": "For people."},
                "details": {"description": "Per-code extra data (field errors, retry_after…)."},
            },
        }
    },
}
ERROR_STATUSES = {
    "400": "The request is malformed or a field is invalid.",
    "401": "No credentials, or they are not valid.",
    "403": "The caller may not do this.",
    "404": "No such object in the caller's organization.",
    "405": "The method is not allowed here.",
    "422": "Well-formed but not acceptable (e.g. invalid tool input, an unknown filter value).",
    "429": "Too many requests; see `Retry-After`.",
}
WRITE_ERROR_STATUSES = {
    "409": "The object's state conflicts with the request (e.g. a duplicate name).",
}


def add_error_responses(result: dict, generator: Any, request: Request, public: Any) -> dict:
    """Document the error envelope on every operation (drf-spectacular post-processing hook).

    Every API error has the same shape (portal/api/errors.py), so each operation lists
    the statuses any endpoint may answer; writes also 409.
    """
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    reference = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for operations in result.get("paths", {}).values():
        for method, operation in operations.items():
            statuses = dict(ERROR_STATUSES)
            if method in ("post", "put", "patch", "delete"):
                statuses |= WRITE_ERROR_STATUSES
            responses = operation.setdefault("responses", {})
            for code, description in statuses.items():
                responses.setdefault(code, {"description": description, "content": reference})
    return result


def open_free_form_objects(result: dict, generator: Any, request: Request, public: Any) -> dict:
    """Every object the schema leaves free-form (tool params, audit metadata, tool input
    schemas) says `additionalProperties: true` (drf-spectacular post-processing hook).

    Without it, typed clients generated from the schema read `{"type": "object"}` as an
    object with no keys at all (openapi-typescript: `Record<string, never>`), and a tool's
    parameters could not be passed (DESIGN §13 rule 27)."""

    def visit(node: object) -> None:
        if isinstance(node, dict):
            if (
                node.get("type") == "object"
                and "properties" not in node
                and "additionalProperties" not in node
            ):
                node["additionalProperties"] = True
            for value in node.values():
                visit(value)
        elif isinstance(node, list):
            for item in node:
                visit(item)

    visit(result)
    return result


# The API docs group operations by what a developer is doing, in this order.
TASKS: dict[str, tuple[str, tuple[str, ...]]] = {
    "Organization": ("The organization and its members (each member's identifier).", ("organization", "members")),
    "Connections": ("The provider catalog and the organization's OAuth apps.", ("providers", "connections")),
    "Connected accounts": ("People's accounts: authorization links, verification, defaults.", ("connected-accounts",)),
    "Tools": ("Tools each identifier may call, calling them, and the proxy.", ("tools", "proxy")),
    "Toolsets": ("Named parts of the catalog that agents and MCP apps are limited to.", ("toolsets",)),
    "Policy": ("Rules every tool call is decided by: allow, deny, limit.", ("policy-rules", "data-protection")),
    "Agents": ("Agents and starting runs.", ("agents",)),
    "Runs": ("Runs, their steps and approvals.", ("agent-runs",)),
    "Audit": ("The audit log.", ("audit-events",)),
    "Webhooks": ("Endpoints, event types and deliveries.", ("webhook-endpoints", "webhook-event-types", "webhook-deliveries")),
    "Sandbox": ("Sandbox connections, the sandbox model's scripts, resets (test keys).", ("sandbox",)),
}  # fmt: skip


def group_by_task(result: dict, generator: Any, request: Request, public: Any) -> dict:
    """Tag each operation with its task (drf-spectacular post-processing hook), so the docs
    page groups them as a developer looks for them, not under one `v1` heading. MCP is not
    REST: the description points to it."""
    tag_of = {segment: task for task, (_, segments) in TASKS.items() for segment in segments}
    for path, operations in result.get("paths", {}).items():
        segment = path.strip("/").split("/")[2] if path.count("/") >= 3 else ""
        for operation in operations.values():
            if isinstance(operation, dict):
                operation["tags"] = [tag_of.get(segment, "Organization")]
    result["tags"] = [{"name": task, "description": text} for task, (text, _) in TASKS.items()]
    return result
