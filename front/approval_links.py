"""The page a signed approval link opens (agents/approval_links.py): phone-sized, the
whole call, approve or decline — once. The person signs in first; a link emailed to one
person works only for them; whoever opens it must be allowed to decide the call (four-eyes
where a policy rule names approvers)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from agents import approval_links, runs
from agents.models import AgentRun, ApprovalLink
from agents.pending import pending_call
from audit import trail
from core.errors import Conflict, NotFound, PortalError
from mcpserver import approvals
from mcpserver.models import McpApproval
from portal.callers import Caller
from portal.requests import SignedInRequest


@dataclass
class HeldCall:
    """The call behind a link, as the page shows it."""

    tool_name: str
    arguments: dict[str, Any]
    requested_by: str
    fingerprint: str
    untrusted: dict[str, Any]
    pending: bool  # still waiting on the call the link was sent for
    may_decide: bool
    run: AgentRun | None = None
    approval: McpApproval | None = None


def _held(link: ApprovalLink, caller: Caller) -> HeldCall:
    organization = caller.organization
    if link.kind == ApprovalLink.Kind.RUN:
        run = (
            AgentRun.objects.for_org(organization)
            .select_related("agent")
            .filter(pk=link.target)
            .first()
        )
        if run is None:
            raise NotFound("The run is gone.")
        call = pending_call(run) or {}
        return HeldCall(
            tool_name=call.get("tool_name", ""),
            arguments=call.get("arguments", {}),
            requested_by=run.identifier,
            fingerprint=call.get("fingerprint", ""),
            untrusted=call.get("untrusted", {}),
            pending=call.get("fingerprint") == link.fingerprint,
            may_decide=runs.may_decide(run, caller=caller),
            run=run,
        )
    approval = McpApproval.objects.for_org(organization).filter(pk=link.target).first()
    if approval is None:
        raise NotFound("The request is gone.")
    return HeldCall(
        tool_name=approval.tool_name,
        arguments=approval.arguments,
        requested_by=approval.identifier,
        fingerprint=approval.fingerprint,
        untrusted={},
        pending=approval.status == McpApproval.Status.PENDING,
        may_decide=approvals.may_decide(approval, caller=caller),
        approval=approval,
    )


def _decide(
    request: HttpRequest, link: ApprovalLink, held: HeldCall, caller: Caller, approve: bool
) -> None:
    fingerprint = request.POST.get("fingerprint", "")
    if fingerprint != held.fingerprint or fingerprint != link.fingerprint:
        raise Conflict("This is not the call you were shown; open the link again.")
    with transaction.atomic():
        approval_links.use(link)  # undone with the decision if the decision fails
        if held.run is not None:
            runs.check_may_decide(held.run, caller=caller)
            pending = pending_call(held.run) or {}
            runs.decide(
                run=held.run,
                approve=approve,
                tool_call_id=pending.get("tool_call_id", ""),
                fingerprint=fingerprint,
                decided_by=trail.Actor.of(caller),
                request=request,
            )
        else:
            approvals.decide(
                caller=caller,
                approval_id=link.target,
                approve=approve,
                fingerprint=fingerprint,
                request=request,
            )


@login_required
def approval_link_page(request: SignedInRequest, token: str) -> HttpResponse:
    try:
        link, caller = approval_links.open_link(token, user=request.user)
        held = _held(link, caller)
    except NotFound as exc:
        raise Http404(exc.message) from None
    except Conflict as exc:  # used or expired: say so, change nothing
        return render(request, "front/approval_link.html", {"problem": exc.message}, status=410)
    decided = ""
    status = 200
    if request.method == "POST" and held.pending and held.may_decide:
        approve = request.POST.get("decision") == "approve"
        try:
            _decide(request, link, held, caller, approve)
        except PortalError as exc:
            return render(
                request, "front/approval_link.html", {"problem": exc.message}, status=exc.status
            )
        decided = "approved" if approve else "declined"
    elif request.method == "POST":
        status = 403 if held.pending else 409
    return render(
        request,
        "front/approval_link.html",
        {"held": held, "decided": decided, "organization": caller.organization},
        status=status,
    )
