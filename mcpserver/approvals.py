"""Writes over MCP under the organization's `always` approval policy (DESIGN §7 rule 13).

The first call of a write returns "approval required" with a link; the person (or an
admin) approves it in the portal; the client's next call with the *same* arguments runs
it, once. An approval is bound to the identifier, the client, the tool and the exact
arguments, and lapses after APPROVAL_WINDOW. Nothing runs unapproved.
"""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone

from audit import trail
from connections.authorization import portal_url
from core.errors import Conflict, NotFound
from core.tenancy import as_uuid
from mcpserver.clients import policy_of
from mcpserver.models import McpApproval, McpPolicy
from portal.callers import Caller

APPROVAL_WINDOW = timedelta(minutes=15)


def fingerprint(*, identifier: str, client_id: str, tool_name: str, arguments: Any) -> str:
    canonical = json.dumps(
        [identifier, client_id, tool_name, arguments], sort_keys=True, separators=(",", ":")
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def gate(
    *, caller: Caller, client_id: str, tool_name: str, arguments: dict[str, Any]
) -> McpApproval | None:
    """None when the write may run now (no policy, or an approval just consumed);
    else the approval it waits for."""
    organization = caller.organization
    if policy_of(organization).approval_policy != McpPolicy.Approval.ALWAYS:
        return None
    mark = fingerprint(
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
            arguments=trail.redact(arguments),
            fingerprint=mark,
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


def find(*, caller: Caller, approval_id: Any) -> McpApproval:
    key = as_uuid(approval_id)
    approval = visible_to(caller).filter(pk=key).first() if key else None
    if approval is None:
        raise NotFound("No such approval.")
    return approval


def decide(
    *, caller: Caller, approval_id: Any, approve: bool, request: HttpRequest | None = None
) -> McpApproval:
    approval = find(caller=caller, approval_id=approval_id)
    with transaction.atomic():
        status = McpApproval.Status.APPROVED if approve else McpApproval.Status.DECLINED
        decided = McpApproval.objects.filter(
            pk=approval.pk, status=McpApproval.Status.PENDING
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
