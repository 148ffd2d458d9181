"""Writes over MCP under the organization's `always` approval policy (DESIGN §7 rule 13).

The first call of a write returns "approval required" with a link; the person (or an
admin) approves it in the portal; the client's next call with the *same* arguments runs
it, once. An approval is bound to the identifier, the client, the tool and the exact
arguments, and lapses after APPROVAL_WINDOW. Nothing runs unapproved.

What is approved is what runs (DESIGN §13 rule 24): the approval keeps the arguments
whole and the page shows all of them; the decision names the approval and the
fingerprint of the call the page showed, and a mismatch changes nothing (409).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db import transaction
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone

from agents import approval_links
from agents.models import ApprovalLink
from audit import trail
from connections.authorization import portal_url
from core.errors import Conflict, Forbidden, NotFound
from core.fingerprints import fingerprint
from core.tenancy import as_uuid
from mcpserver.clients import policy_of
from mcpserver.models import McpApproval, McpPolicy
from portal.callers import Caller
from portal.models import Membership

APPROVAL_WINDOW = timedelta(minutes=15)


def call_fingerprint(*, identifier: str, client_id: str, tool_name: str, arguments: Any) -> str:
    return fingerprint(identifier, client_id, tool_name, arguments)


def gate(
    *,
    caller: Caller,
    client_id: str,
    tool_name: str,
    arguments: dict[str, Any],
    required: bool = False,
    approvers: list[str] | None = None,
) -> McpApproval | None:
    """None when the call may run now (no approval asked, or one just consumed); else the
    approval it waits for. Asked for every write under the MCP "always" setting, and for
    any call a policy rule wants approved (`required`)."""
    organization = caller.organization
    always = policy_of(organization).approval_policy == McpPolicy.Approval.ALWAYS
    if not (always or required):
        return None
    mark = call_fingerprint(
        identifier=caller.identifier, client_id=client_id, tool_name=tool_name, arguments=arguments
    )
    recent = McpApproval.objects.for_org(organization).filter(
        fingerprint=mark, created_at__gte=timezone.now() - APPROVAL_WINDOW
    )
    for approved in recent.filter(status=McpApproval.Status.APPROVED):
        # Consumed with one conditional UPDATE: two concurrent calls run it once.
        if McpApproval.objects.filter(pk=approved.pk, status=McpApproval.Status.APPROVED).update(
            status=McpApproval.Status.USED
        ):
            return None
    pending = recent.filter(status=McpApproval.Status.PENDING).first()
    if pending is not None:
        return pending
    with transaction.atomic():
        approval = McpApproval.objects.create(
            organization=organization,
            user=caller.user,
            identifier=caller.identifier,
            client_id=client_id,
            tool_name=tool_name,
            arguments=arguments,  # whole: the person decides on all of it
            fingerprint=mark,
            approvers=list(approvers or []),
        )
        trail.record(
            action="mcp.approval_requested",
            organization=organization,
            caller=caller,
            identifier=caller.identifier,
            target_type="mcp_approval",
            target_id=approval.pk,
            metadata={"tool": tool_name, "client_id": client_id},
        )
        approval_links.request(
            organization=organization,
            kind=ApprovalLink.Kind.MCP,
            target=approval.pk,
            fingerprint=mark,
            tool_name=tool_name,
            requester_identifier=caller.identifier,
            requester_user=caller.user,
            approvers=approval.approvers,
            expires_at=timezone.now() + APPROVAL_WINDOW,
            actor=trail.Actor.of(caller),
        )
    return approval


def link(approval: McpApproval) -> str:
    return portal_url(reverse("mcp_approval", args=[approval.pk]))


def visible_to(caller: Caller):
    approvals = McpApproval.objects.for_org(caller.organization)
    if caller.can_manage:
        return approvals
    if caller.user is None:
        return approvals.none()
    return approvals.filter(identifier=caller.user.identifier)


def may_decide(approval: McpApproval, *, caller: Caller) -> bool:
    """The person or an admin — except for a call a policy rule holds for named
    approvers: one of them, not the requester (four-eyes)."""
    if approval.approvers:
        return approval_links.named_approver(
            caller,
            approvers=approval.approvers,
            requester_identifier=approval.identifier,
            requester_user_id=approval.user_id,
        )
    return visible_to(caller).filter(pk=approval.pk).exists()


def find(*, caller: Caller, approval_id: Any) -> McpApproval:
    """An approval the caller may see: theirs, any as an admin, or one they are named to
    decide."""
    key = as_uuid(approval_id)
    approval = (
        McpApproval.objects.for_org(caller.organization).filter(pk=key).first() if key else None
    )
    if approval is None or not (
        visible_to(caller).filter(pk=approval.pk).exists()
        or (approval.approvers and may_decide(approval, caller=caller))
    ):
        raise NotFound("No such approval.")
    return approval


def find_for_person(*, user: Any, approval_id: Any) -> tuple[McpApproval, Caller]:
    """The approval behind a link, in whichever of the person's organizations it is (the
    link works without switching organization first), with the caller they decide as."""
    key = as_uuid(approval_id)
    approval = McpApproval.objects.filter(pk=key).first() if key else None
    membership = (
        Membership.objects.select_related("organization", "user")
        .filter(user=user, organization_id=approval.organization_id)
        .first()
        if approval is not None
        else None
    )
    if membership is None:
        raise NotFound("No such approval.")
    caller = Caller.of_member(membership)
    return find(caller=caller, approval_id=key), caller


def decide(
    *,
    caller: Caller,
    approval_id: Any,
    approve: bool,
    fingerprint: str,
    request: HttpRequest | None = None,
) -> McpApproval:
    """Decide the approval the page showed: `fingerprint` is the one it was shown with."""
    approval = find(caller=caller, approval_id=approval_id)
    if not may_decide(approval, caller=caller):
        raise Forbidden(
            "A policy rule names who approves this call, and not you (nobody approves "
            "their own call).",
            code="not_allowed",
        )
    if fingerprint != approval.fingerprint:
        raise Conflict(
            "This is not the call you were shown; reload the page and decide again.",
            code="approval_mismatch",
        )
    with transaction.atomic():
        status = McpApproval.Status.APPROVED if approve else McpApproval.Status.DECLINED
        decided = McpApproval.objects.filter(
            pk=approval.pk, status=McpApproval.Status.PENDING, fingerprint=fingerprint
        ).update(status=status, decided_at=timezone.now(), decided_by=caller.user)
        if not decided:
            raise Conflict("This request was already decided.", code="already_decided")
        trail.record(
            action="mcp.approved" if approve else "mcp.declined",
            organization=caller.organization,
            caller=caller,
            request=request,
            identifier=approval.identifier,
            target_type="mcp_approval",
            target_id=approval.pk,
            metadata={"tool": approval.tool_name, "client_id": approval.client_id},
        )
    approval.refresh_from_db()
    return approval
