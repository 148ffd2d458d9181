"""The usage page (issue 26): model tokens, tool calls and denials per day by agent and
provider for the last 30 days, as charts, and the organization's budgets with what each
has used — set and removed here too. Owners and admins (auditors read it)."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render

from connections import budgets, usage
from connections.forms import BudgetForm
from core.decorators import org_page
from core.errors import PortalError
from core.forms import show_error
from front.charts import stacked
from portal.requests import OrgRequest

CHARTS = (
    ("tokens", "agent", "Model tokens per day, by agent"),
    ("tool_calls", "provider", "Tool calls per day, by provider"),
    ("tool_calls", "agent", "Tool calls per day, by agent"),
    ("denials", "provider", "Calls refused by policy, budgets or the hook, by provider"),
    ("denials", "agent", "Calls refused, by agent"),
)


@org_page(on_error="usage")
def usage_page(request: OrgRequest) -> HttpResponse:
    membership = request.membership
    if not membership.can_read_audit:
        raise Http404("Only owners, admins and auditors see usage.")
    form = BudgetForm(request.POST or None)
    if request.method == "POST":
        if request.POST.get("action") == "delete":
            budget = budgets.get_budget(
                organization=request.organization, budget_id=request.POST.get("budget_id")
            )
            budgets.delete_budget(caller=request.caller, budget=budget, request=request)
            messages.success(request, "Budget removed.")
            return redirect("usage")
        if form.is_valid():
            try:
                budgets.create_budget(caller=request.caller, request=request, **form.cleaned_data)
            except PortalError as exc:
                show_error(form, exc)
            else:
                messages.success(request, "Budget set.")
                return redirect("usage")
    organization = request.organization
    charts = [
        stacked(usage.daily(organization, metric=metric, by=by), title=title)
        for metric, by, title in CHARTS
    ]
    return render(
        request,
        "front/usage.html",
        {
            "charts": charts,
            "budget_uses": usage.budget_uses(organization),
            "form": form,
            "can_manage": membership.can_manage,
        },
    )
