"""Pages: agents (everyone runs them, owners/admins configure them) and runs."""

from __future__ import annotations

import json

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from agents import configuration, llm, runs, selectors, toolbox
from agents.filters import RunFilter
from agents.forms import AgentForm, RunForm
from agents.models import AgentStep, RunStatus
from agents.pending import pending_call
from audit import trail
from connections import toolsets
from connections.selectors import connection_names
from core.decorators import org_page
from core.errors import NotFound, PortalError
from core.forms import show_error
from portal.requests import OrgRequest
from portal.selectors import members_of

# --- Agents ------------------------------------------------------------------------------


@org_page()
def agent_list(request: OrgRequest) -> HttpResponse:
    agents = selectors.agents_of(organization=request.organization)
    return render(request, "agents/agent_list.html", {"agents": agents})


def _agent_form(request: OrgRequest, *, initial=None, editing=False) -> AgentForm:
    org = request.organization
    return AgentForm(
        request.POST or None,
        initial=initial,
        editing=editing,
        connections=connection_names(organization=org),
        tools=configuration.known_tools_by_provider(org),
        toolsets=toolsets.toolsets_of(organization=org).values_list("name", flat=True),
    )


def _agent_values(data: dict) -> dict:
    values = {field: data[field] for field in configuration.EDITABLE_FIELDS}
    values["api_key"] = data.get("api_key") or ""
    return values


@org_page(manager=True)
def agent_create(request: OrgRequest) -> HttpResponse:
    form = _agent_form(request)
    if request.method == "POST" and form.is_valid():
        try:
            agent = configuration.create_agent(
                org=request.organization,
                created_by=request.user,
                request=request,
                **_agent_values(form.cleaned_data),
            )
        except PortalError as exc:
            show_error(form, exc)
        else:
            messages.success(request, f"Agent “{agent.name}” created.")
            return redirect("agent_detail", agent_id=agent.pk)
    return render(request, "agents/agent_form.html", {"form": form})


@org_page(manager=True)
def agent_edit(request: OrgRequest, agent_id) -> HttpResponse:
    agent = configuration.get_agent(request.organization, agent_id)
    initial = {field: getattr(agent, field) for field in configuration.EDITABLE_FIELDS}
    initial["toolset"] = agent.toolset.name if agent.toolset else ""
    form = _agent_form(request, initial=initial, editing=True)
    if request.method == "POST" and form.is_valid():
        try:
            configuration.update_agent(
                agent=agent,
                request=request,
                clear_api_key=form.cleaned_data.get("clear_api_key", False),
                **_agent_values(form.cleaned_data),
            )
        except PortalError as exc:
            show_error(form, exc)
        else:
            messages.success(request, "Agent saved.")
            return redirect("agent_detail", agent_id=agent.pk)
    return render(request, "agents/agent_form.html", {"form": form, "agent": agent})


@org_page(manager=True, on_error="agents")
@require_POST
def agent_delete(request: OrgRequest, agent_id) -> HttpResponse:
    agent = configuration.get_agent(request.organization, agent_id)
    configuration.delete_agent(agent=agent, request=request)
    messages.success(request, f"Agent “{agent.name}” deleted, with its runs.")
    return redirect("agents")


@org_page()
def agent_detail(request: OrgRequest, agent_id) -> HttpResponse:
    """The "Run" page: a prompt box, the tools this user would get, their recent runs."""
    org = request.organization
    agent = configuration.get_agent(org, agent_id)
    form = RunForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            run = runs.start_run(
                agent=agent,
                prompt=form.cleaned_data["prompt"],
                caller=request.caller,
                request=request,
            )
        except PortalError as exc:
            form.add_error("prompt", exc.message)
        else:
            return redirect("agent_run_detail", run_id=run.pk)
    context = {
        "agent": agent,
        "form": form,
        "not_configured": llm.not_configured_reason(agent),
        "tools": toolbox.agent_tools(agent, request.caller),
        "runs": selectors.runs_visible_to(caller=request.caller)
        .filter(Q(user=request.user) | Q(identifier=request.caller.identifier))
        .filter(agent=agent)[:10],
    }
    return render(request, "agents/agent_detail.html", context)


# --- Runs ----------------------------------------------------------------------------------


def _run(request: OrgRequest, run_id):
    run = selectors.find_run(caller=request.caller, run_id=run_id)
    if run is None:
        raise NotFound("No such run.")
    return run


@org_page()
def run_list(request: OrgRequest) -> HttpResponse:
    org, manager = request.organization, request.caller.can_manage
    asked = {k: v for k, v in request.GET.items() if manager or k != "user_id"}
    filters = RunFilter(
        asked, queryset=selectors.runs_visible_to(caller=request.caller), strict=False
    )
    context = {
        "page": Paginator(filters.narrowed, 25).get_page(request.GET.get("page")),
        "filters": filters.values,
        "query": filters.query,
        "agents": selectors.agents_of(organization=org).only("id", "name"),
        "statuses": RunStatus.choices,
        "members": members_of(organization=org) if manager else [],
    }
    return render(request, "agents/run_list.html", context)


def _run_context(request: OrgRequest, run) -> dict:
    return {
        "run": run,
        # The size of a stored result, not its content (it may be megabytes).
        "steps": run.steps.select_related("result").defer("result__content"),
        "may_decide": run.status == RunStatus.AWAITING_APPROVAL
        and runs.may_decide(run, caller=request.caller),
        "pending": pending_call(run),
    }


@org_page()
def run_detail(request: OrgRequest, run_id) -> HttpResponse:
    run = _run(request, run_id)
    return render(request, "agents/run_detail.html", _run_context(request, run))


@org_page()
def step_result(request: OrgRequest, run_id, index: int) -> HttpResponse:
    """A tool step's whole result: stored when too large for the model, else the tool
    message the model was given."""
    run = _run(request, run_id)
    step = get_object_or_404(
        run.steps.select_related("result"), index=index, kind=AgentStep.Kind.TOOL
    )
    if step.result is not None:
        text = step.result.content
    else:
        text = next(
            (
                m.get("content", "")
                for m in run.messages
                if m.get("role") == "tool" and m.get("tool_call_id") == step.tool_call_id
            ),
            step.summary,
        )
    return render(
        request,
        "agents/step_result.html",
        {"run": run, "step": step, "text": _indented(text), "size": len(text)},
    )


def _indented(text: str) -> str:
    """JSON laid out to read; anything else as it is."""
    try:
        return json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    except ValueError:
        return text


@org_page()
def run_progress(request: OrgRequest, run_id) -> HttpResponse:
    """The htmx fragment the run page polls until the run pauses or finishes."""
    run = _run(request, run_id)
    return render(request, "agents/_run_progress.html", _run_context(request, run))


@org_page(on_error="agent_runs")
@require_POST
def run_decide(request: OrgRequest, run_id, decision: str) -> HttpResponse:
    run = _run(request, run_id)
    runs.check_may_decide(run, caller=request.caller)
    try:
        runs.decide(
            run=run,
            approve=decision == "approve",
            tool_call_id=request.POST.get("tool_call_id", ""),
            fingerprint=request.POST.get("fingerprint", ""),
            decided_by=trail.Actor.user(request.user),
            request=request,
        )
    except PortalError as exc:
        messages.error(request, exc.message)
    return redirect("agent_run_detail", run_id=run.pk)
