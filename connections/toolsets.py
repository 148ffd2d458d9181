"""Toolsets (issue 25): named parts of the catalog an admin defines — some providers'
tools, or named tools, reads only or reads and writes — so an agent, an MCP grant or an
MCP client's URL (/mcp/t/<name>) gets only the part it needs.

A toolset only ever narrows: a caller limited to one sees the tools of theirs that it
includes (connections/models.py Toolset.includes), and calls anything else in vain. A
toolset in use by an agent or an MCP grant cannot be deleted (deleting it would widen
them). Every change is audited.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import ProtectedError, QuerySet
from django.http import HttpRequest

from audit import trail
from connections.models import ToolAccess, Toolset
from connections.providers import providers
from connections.tools import AvailableTool, tool_registry
from core.errors import Conflict, Invalid, NotFound
from portal.callers import Caller

NAME = re.compile(r"^[a-z0-9]+(?:[-_][a-z0-9]+)*$")
FIELDS = ("name", "description", "providers", "tools", "access")


def toolsets_of(*, organization: Any) -> QuerySet[Toolset]:
    return Toolset.objects.for_org(organization)


def get_toolset(*, organization: Any, name: Any) -> Toolset:
    found = (
        toolsets_of(organization=organization).filter(name=name).first()
        if isinstance(name, str)
        else None
    )
    if found is None:
        raise NotFound(f"No toolset named {name!r}.", code="toolset_not_found")
    return found


def _clean(values: dict[str, Any]) -> dict[str, Any]:
    cleaned: dict[str, Any] = {}
    if "name" in values:
        name = str(values["name"] or "").strip().lower()
        if not NAME.match(name) or len(name) > 64:
            raise Invalid(
                "Name the toolset with lowercase letters, digits, '-' and '_' (64 at most).",
                code="invalid_name",
            )
        cleaned["name"] = name
    if "description" in values:
        cleaned["description"] = str(values["description"] or "")[:500]
    if "providers" in values:
        known = set(providers())
        asked = _names(values["providers"], "providers")
        unknown = sorted(set(asked) - known)
        if unknown:
            raise Invalid(
                f"Unknown providers: {', '.join(unknown)}.",
                code="unknown_provider",
                details={"unknown": unknown},
            )
        cleaned["providers"] = sorted(set(asked))
    if "tools" in values:
        asked = _names(values["tools"], "tools")
        unknown = sorted(set(asked) - set(tool_registry()))
        if unknown:
            raise Invalid(
                f"Unknown tools: {', '.join(unknown[:10])}.",
                code="unknown_tool",
                details={"unknown": unknown},
            )
        cleaned["tools"] = sorted(set(asked))
    if "access" in values:
        if values["access"] not in ToolAccess.values:
            raise Invalid(
                "access is 'read' (reads only) or 'write' (reads and writes).",
                code="invalid_access",
            )
        cleaned["access"] = values["access"]
    return cleaned


def _names(value: Any, field: str) -> list[str]:
    if isinstance(value, str):
        value = [part.strip() for part in value.replace(",", " ").split()]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise Invalid(f"{field} is a list of names.", code=f"invalid_{field}")
    return [v for v in value if v]


def _audit(toolset: Toolset, action: str, caller: Caller, request: HttpRequest | None) -> None:
    trail.record(
        action=action,
        organization=toolset.organization,
        caller=caller,
        request=request,
        target_type="toolset",
        target_id=toolset.name,
        metadata={
            "providers": toolset.providers,
            "tools": toolset.tools,
            "access": toolset.access,
        },
    )


def create_toolset(*, caller: Caller, request: HttpRequest | None = None, **values: Any) -> Toolset:
    caller.require_manager()
    cleaned = _clean({"access": ToolAccess.READ, **values})
    if "name" not in cleaned:
        raise Invalid("Name the toolset.", code="invalid_name")
    toolset = Toolset(organization=caller.organization, **cleaned)
    try:
        with transaction.atomic():
            toolset.save(force_insert=True)
            _audit(toolset, "toolset.created", caller, request)
    except IntegrityError:
        raise Conflict(
            f"A toolset named {toolset.name!r} exists already.", code="duplicate_name"
        ) from None
    return toolset


def update_toolset(
    *, caller: Caller, toolset: Toolset, request: HttpRequest | None = None, **values: Any
) -> Toolset:
    caller.require_manager()
    for field, value in _clean({k: v for k, v in values.items() if k in FIELDS}).items():
        setattr(toolset, field, value)
    try:
        with transaction.atomic():
            toolset.save()
            _audit(toolset, "toolset.updated", caller, request)
    except IntegrityError:
        raise Conflict(
            f"A toolset named {toolset.name!r} exists already.", code="duplicate_name"
        ) from None
    return toolset


def delete_toolset(*, caller: Caller, toolset: Toolset, request: HttpRequest | None = None) -> None:
    caller.require_manager()
    try:
        with transaction.atomic():
            _audit(toolset, "toolset.deleted", caller, request)
            toolset.delete()
    except ProtectedError:
        raise Conflict(
            f"The toolset {toolset.name!r} is in use by an agent or an MCP app; "
            "change those first.",
            code="toolset_in_use",
        ) from None


def within(toolsets: Iterable[Toolset | None]) -> Any:
    """A test for execute_tool's `within`: tools every given toolset includes (None when
    none is given: no limit)."""
    limits = [t for t in toolsets if t is not None]
    if not limits:
        return None
    return lambda tool: all(t.includes(tool) for t in limits)


def narrowed(entries: Iterable[AvailableTool], toolsets: Iterable[Toolset | None]) -> list:
    """The entries every given toolset includes."""
    test = within(toolsets)
    return [e for e in entries if test is None or test(e.tool)]


def catalog_of(toolset: Toolset) -> list[Any]:
    """The catalog tools a toolset includes (its page, and the API's answer)."""
    return [tool for tool in tool_registry().values() if toolset.includes(tool)]
