"""The policy page (issue 26): the organization's rules in the order they are asked, a
form to add or change one, and — before saving — a dry run of it over the last 1,000
audited tool calls (connections/policy_preview.py). Owners and admins only."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from connections import policy, policy_preview
from connections.forms import PolicyRuleForm
from connections.models import PolicyRule
from core.decorators import org_page
from core.errors import PortalError
from core.forms import show_error
from portal.requests import OrgRequest


def _candidate(request: OrgRequest, form: PolicyRuleForm, rule: PolicyRule | None) -> PolicyRule:
    """The rule as the form describes it, checked but not saved."""
    values = policy.clean(form.values())
    candidate = PolicyRule(organization=request.organization, **values)
    if rule is not None:
        candidate.pk, candidate.created_at = rule.pk, rule.created_at
    policy.check_whole(candidate)
    return candidate


def _form_page(request: OrgRequest, rule: PolicyRule | None) -> HttpResponse:
    initial = PolicyRuleForm.initial_of(rule) if rule is not None else None
    form = PolicyRuleForm(request.POST or None, initial=initial)
    preview = None
    if request.method == "POST" and form.is_valid():
        try:
            if request.POST.get("action") == "preview":
                candidate = _candidate(request, form, rule)
                preview = policy_preview.preview(
                    organization=request.organization, candidate=candidate
                )
            elif rule is None:
                made = policy.create_rule(caller=request.caller, request=request, **form.values())
                messages.success(request, f"Rule “{made.name}” saved.")
                return redirect("policy")
            else:
                policy.update_rule(
                    caller=request.caller, rule=rule, request=request, **form.values()
                )
                messages.success(request, f"Rule “{rule.name}” saved (version {rule.version}).")
                return redirect("policy")
        except PortalError as exc:
            show_error(form, exc)
    context: dict[str, Any] = {
        "rules": policy.rules_for_admin(organization=request.organization),
        "form": form,
        "rule": rule,
        "preview": preview,
    }
    return render(request, "connections/policy.html", context)


@org_page(manager=True, on_error="policy")
def policy_page(request: OrgRequest) -> HttpResponse:
    return _form_page(request, None)


@org_page(manager=True, on_error="policy")
def rule_page(request: OrgRequest, rule_id: Any) -> HttpResponse:
    return _form_page(request, policy.get_rule(organization=request.organization, rule_id=rule_id))


@org_page(manager=True, on_error="policy")
@require_POST
def rule_delete(request: OrgRequest, rule_id: Any) -> HttpResponse:
    rule = policy.get_rule(organization=request.organization, rule_id=rule_id)
    policy.delete_rule(caller=request.caller, rule=rule, request=request)
    messages.success(request, f"Rule “{rule.name}” deleted.")
    return redirect("policy")
