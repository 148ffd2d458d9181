"""Approvals where the approver is (issue 26): a held call — an agent run's waiting call
or an MCP approval — is sent to the people who may decide it, by email and as the
`approval.requested` webhook event (a company's Slack bot can post it), each with a
signed, single-use, expiring link to a phone-sized page showing the whole call.

Who may decide: a call held by a policy rule that names approvers (roles or identifiers)
is decided by one of them who is not the requester — four-eyes, admins included: an
admin not named cannot approve it, and nobody approves their own. Any other held call
("ask before writes", the MCP "always" setting, untrusted content) is decided as before:
by its person or an owner/admin.

A link proves nothing alone: whoever opens it signs in, and must be allowed to decide —
as its recipient when it was emailed to one person. It works once and lapses with the
call's approval window.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.core import signing
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from agents.models import AgentRun, ApprovalLink
from agents.pending import PendingCall
from audit import trail
from connections.authorization import portal_url
from core.errors import Conflict, NotFound
from portal.callers import Caller
from portal.models import Membership, Organization, User

SALT = "agent-portal.approval-link"
MAX_RECIPIENTS = 20
RUN_APPROVAL_WINDOW = timedelta(hours=24)


def named_approver(
    caller: Caller, *, approvers: list[str], requester_identifier: str, requester_user_id: Any
) -> bool:
    """Whether `caller` is one of the approvers a rule names, and not the requester."""
    user = caller.user
    if user is None or caller.api_key is not None:
        return False  # a person decides, never a key
    if user.pk == requester_user_id or caller.identifier == requester_identifier:
        return False  # four-eyes
    return caller.role in approvers or caller.identifier in approvers or user.email in approvers


def url_of(link: ApprovalLink) -> str:
    token = signing.dumps(str(link.pk), salt=SALT, compress=False)
    return portal_url(reverse("approval_link", args=[token]))


def _recipients(
    organization: Organization,
    *,
    approvers: list[str],
    requester_identifier: str,
    requester_user: User | None,
) -> list[User]:
    if not approvers:
        return [requester_user] if requester_user is not None else []
    members = (
        Membership.objects.for_org(organization)
        .filter(Q(role__in=approvers) | Q(user__email__in=approvers))
        .exclude(user=requester_user)
        .select_related("user")
    )
    return [m.user for m in members[:MAX_RECIPIENTS] if m.user.identifier != requester_identifier]


def request(
    *,
    organization: Organization,
    kind: str,
    target: Any,
    fingerprint: str,
    tool_name: str,
    requester_identifier: str,
    requester_user: User | None,
    approvers: list[str],
    expires_at: datetime,
    actor: trail.Actor,
) -> None:
    """Send the held call to its deciders; call inside the transaction that holds it."""
    common = {
        "organization": organization,
        "kind": kind,
        "target": target,
        "fingerprint": fingerprint,
        "expires_at": expires_at,
    }
    shared = ApprovalLink.objects.create(**common)  # the webhook event's link
    people = _recipients(
        organization,
        approvers=approvers,
        requester_identifier=requester_identifier,
        requester_user=requester_user,
    )
    emails = [
        (user.email, url_of(ApprovalLink.objects.create(**common, recipient=user)))
        for user in people
    ]
    trail.record(
        action="approval.requested",
        organization=organization,
        actor=actor,
        identifier=requester_identifier,
        target_type=kind,
        target_id=str(target),
        metadata={
            "tool": tool_name,
            "link": str(shared.pk),
            "approvers": approvers,
            "emailed": len(emails),
            "expires_at": expires_at.isoformat(),
        },
    )
    subject = f"[Agent Portal] Approve {tool_name} for {requester_identifier}?"
    transaction.on_commit(lambda: _email(subject, tool_name, requester_identifier, emails))


def request_for_run(run: AgentRun, call: PendingCall, *, actor: trail.Actor) -> None:
    """Send a paused run's waiting call to its deciders."""
    request(
        organization=run.organization,
        kind=ApprovalLink.Kind.RUN,
        target=run.pk,
        fingerprint=call.fingerprint(run),
        tool_name=call.name,
        requester_identifier=run.identifier,
        requester_user=run.user,
        approvers=call.approvers,
        expires_at=timezone.now() + RUN_APPROVAL_WINDOW,
        actor=actor,
    )


def _email(subject: str, tool_name: str, requester: str, emails: list[tuple[str, str]]) -> None:
    for address, url in emails:
        send_mail(
            subject=subject[:200],
            message=(
                f"{requester} asked to run {tool_name}; it waits for your approval.\n\n"
                f"See the whole call and decide: {url}\n\n"
                "The link works once and only for you (sign in first); it lapses with the "
                "request."
            ),
            from_email=None,
            recipient_list=[address],
            fail_silently=True,
        )


def webhook_link(organization: Organization, link_id: Any) -> str | None:
    link = ApprovalLink.objects.for_org(organization).filter(pk=link_id).first()
    return url_of(link) if link is not None else None


def open_link(token: str, *, user: User) -> tuple[ApprovalLink, Caller]:
    """The link a token names, for this signed-in person, with the caller they decide as.
    Tampered, unknown, someone else's or another organization's: 404; expired or used: 409
    with a message that says so."""
    try:
        link_id = signing.loads(token, salt=SALT)
        link = ApprovalLink.objects.filter(pk=link_id).first()
    except (signing.BadSignature, ValueError, TypeError):
        link = None
    membership = (
        Membership.objects.select_related("organization", "user")
        .filter(user=user, organization_id=link.organization_id)
        .first()
        if link is not None and link.recipient_id in (None, user.pk)
        else None
    )
    if link is None or membership is None:
        raise NotFound("This approval link is not valid for you.", code="approval_link_not_found")
    if link.used_at is not None:
        raise Conflict("This link was used already.", code="approval_link_used")
    if link.expires_at <= timezone.now():
        raise Conflict("This link has expired.", code="approval_link_expired")
    return link, Caller.of_member(membership)


def use(link: ApprovalLink) -> None:
    """Spend the link (once: a second use of it finds it used)."""
    spent = ApprovalLink.objects.filter(pk=link.pk, used_at__isnull=True).update(
        used_at=timezone.now()
    )
    if not spent:
        raise Conflict("This link was used already.", code="approval_link_used")


def prune(*, older_than: timedelta = timedelta(days=30)) -> int:
    deleted, _ = ApprovalLink.objects.filter(expires_at__lt=timezone.now() - older_than).delete()
    return deleted
