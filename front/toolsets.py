"""Toolset pages: every member sees the organization's toolsets (they choose one when
they let an MCP app in); owners and admins create, change and delete them."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from agents.models import Agent
from connections import toolsets
from connections.forms import ToolsetForm
from connections.models import Toolset
from core.decorators import org_page
from core.errors import PortalError
from core.forms import show_error
from mcpserver.models import McpConnection
from portal.requests import OrgRequest


def _values(form: ToolsetForm) -> dict[str, Any]:
    data = form.cleaned_data
    return {
        "name": data["name"],
        "description": data["description"],
        "providers": list(data["providers"]),
        "tools": data["tools"],
        "access": data["access"],
    }


@org_page(on_error="toolsets")
def toolset_list(request: OrgRequest) -> HttpResponse:
    form = ToolsetForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            toolset = toolsets.create_toolset(
                caller=request.caller, request=request, **_values(form)
            )
        except PortalError as exc:
            show_error(form, exc)
        else:
            messages.success(request, f"Toolset “{toolset.name}” created.")
            return redirect("toolset_detail", toolset=toolset.name)
    rows = [
        (toolset, len(toolsets.catalog_of(toolset)))
        for toolset in toolsets.toolsets_of(organization=request.organization)
    ]
    return render(
        request,
        "connections/toolset_list.html",
        {"rows": rows, "form": form, "can_manage": request.caller.can_manage},
    )


@org_page(on_error="toolsets")
def toolset_detail(request: OrgRequest, toolset: str) -> HttpResponse:
    return _detail(request, toolsets.get_toolset(organization=request.organization, name=toolset))


def _detail(request: OrgRequest, toolset: Toolset) -> HttpResponse:
    initial = {
        "name": toolset.name,
        "description": toolset.description,
        "providers": toolset.providers,
        "tools": " ".join(toolset.tools),
        "access": toolset.access,
    }
    form = ToolsetForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            toolsets.update_toolset(
                caller=request.caller, toolset=toolset, request=request, **_values(form)
            )
        except PortalError as exc:
            show_error(form, exc)
        else:
            messages.success(request, "Toolset saved.")
            return redirect("toolset_detail", toolset=toolset.name)
    context = {
        "toolset": toolset,
        "form": form,
        "tools": toolsets.catalog_of(toolset),
        "agents": Agent.objects.for_org(request.organization).filter(toolset=toolset),
        "grants": McpConnection.objects.for_org(request.organization)
        .filter(toolset=toolset, revoked_at__isnull=True)
        .select_related("application", "user"),
        "mcp_url": request.build_absolute_uri(f"/mcp/t/{toolset.name}"),
        "can_manage": request.caller.can_manage,
    }
    return render(request, "connections/toolset_detail.html", context)


@org_page(manager=True, on_error="toolsets")
@require_POST
def toolset_delete(request: OrgRequest, toolset: str) -> HttpResponse:
    name = toolset
    found = toolsets.get_toolset(organization=request.organization, name=name)
    toolsets.delete_toolset(caller=request.caller, toolset=found, request=request)
    messages.success(request, f"Toolset “{name}” deleted.")
    return redirect("toolsets")
