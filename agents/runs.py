"""What callers do to runs: start one, decide on the call it waits for, end the runs of a
removed member — and how any run ends (`finish`), written only while the writer still
may (a conditional update, never a save of a stale copy over another's)."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone

from agents import approval_links
from agents.models import Agent, AgentRun, AgentStep, RunStatus
from agents.pending import waiting_call
from audit import trail
from audit.models import AuditEvent
from core import metrics
from core.dependencies import enqueue_after_commit, require_background_work
from core.errors import Conflict, Forbidden, Invalid
from portal.callers import Caller
from portal.identifiers import validate_identifier

MAX_PROMPT = 20_000
UNFINISHED = (RunStatus.QUEUED, RunStatus.RUNNING, RunStatus.AWAITING_APPROVAL)


def record_run_event(
    run: AgentRun,
    action: str,
    *,
    actor: trail.Actor | None = None,
    caller: Caller | None = None,
    request: HttpRequest | None = None,
    outcome: str = AuditEvent.Outcome.SUCCESS,
    **metadata: Any,
) -> AuditEvent:
    """Audit one event about a run: its organization, identifier and target come from it."""
    return trail.record(
        action=action,
        organization=run.organization,
        actor=actor,
        caller=caller,
        request=request,
        identifier=run.identifier,
        target_type="agent_run",
        target_id=run.pk,
        outcome=outcome,
        metadata=metadata,
    )


def start_run(
    *, agent: Agent, prompt: str, caller: Caller, request: HttpRequest | None = None
) -> AgentRun:
    """Queue a run as the caller (a member as themselves; an API key as the identifier it
    named, see Caller.acting_as)."""
    prompt = (prompt or "").strip()
    if not prompt:
        raise Invalid("Write a prompt for the agent.", code="prompt_required")
    if len(prompt) > MAX_PROMPT:
        raise Invalid(f"The prompt is longer than {MAX_PROMPT} characters.", code="prompt_too_long")
    identifier = validate_identifier(caller.identifier)
    require_background_work()  # 503 rather than a run queued into nothing
    with transaction.atomic():
        run = AgentRun.objects.create(
            organization=agent.organization,
            agent=agent,
            user=caller.user,
            api_key=caller.api_key,
            identifier=identifier,
            prompt=prompt,
        )
        record_run_event(
            run,
            "agent_run.started",
            caller=caller,
            request=request,
            agent=agent.name,
            model=agent.model,
        )
        enqueue_after_commit(lambda: enqueue(run.pk))
    return run


def enqueue(run_id: Any) -> None:
    """Hand the run to a worker (agents.tasks.run_agent)."""
    from agents.tasks import run_agent  # the task module imports the runner, which imports this

    run_agent.delay(str(run_id))


def may_decide(run: AgentRun, *, caller: Caller) -> bool:
    """The run's own user, an owner/admin, or the organization's API key — except for a
    call a policy rule holds for named approvers: one of them, not the requester."""
    if caller.organization.pk != run.organization_id:
        return False
    waiting = waiting_call(run)
    if waiting is not None and waiting.approvers:
        return approval_links.named_approver(
            caller,
            approvers=waiting.approvers,
            requester_identifier=run.identifier,
            requester_user_id=run.user_id,
        )
    if caller.api_key is not None or caller.can_manage:
        return True
    user = caller.user
    return user is not None and (run.user_id == user.pk or run.identifier == user.identifier)


def check_may_decide(run: AgentRun, *, caller: Caller) -> None:
    if not may_decide(run, caller=caller):
        raise Forbidden(
            "Only the run's user or an admin may decide (or, where a policy rule names "
            "approvers, one of them other than the requester).",
            code="not_allowed",
        )


def decide(
    *,
    run: AgentRun,
    approve: bool,
    tool_call_id: str,
    fingerprint: str,
    decided_by: trail.Actor,
    request: HttpRequest | None = None,
) -> AgentRun:
    """Approve or reject the tool call the run is waiting on, then resume the run. The
    decision names the call (its tool call id and the fingerprint of what was shown): a
    stale page or a double submit never decides a call nobody saw (409, nothing runs)."""
    with transaction.atomic():
        run = (
            AgentRun.objects.select_for_update(of=("self",)).select_related("agent").get(pk=run.pk)
        )
        waiting = waiting_call(run)
        if waiting is None:
            raise Conflict("This run is not waiting for an approval.", code="not_awaiting_approval")
        if waiting.id != tool_call_id or waiting.fingerprint(run) != fingerprint:
            raise Conflict(
                "The run now waits on another call than the one you decided on; look at it again.",
                code="approval_mismatch",
            )
        decided = waiting.decided(approve=approve)
        run.pending_tool_calls = [decided.raw, *run.pending_tool_calls[1:]]
        run.status = RunStatus.QUEUED
        run.save(update_fields=["pending_tool_calls", "status"])
        AgentStep.objects.filter(run=run, tool_call_id=decided.step_key).update(
            outcome=AgentStep.Outcome.APPROVED if approve else AgentStep.Outcome.DECLINED
        )
        record_run_event(
            run,
            "agent_run.approved" if approve else "agent_run.rejected",
            actor=decided_by,
            request=request,
            tool=decided.name,
            tool_call_id=decided.id,
        )
        enqueue_after_commit(lambda: enqueue(run.pk))
    return run


def finish(
    run: AgentRun,
    status: str,
    reason: str = "",
    *,
    only_if: Q,
    final_text: str = "",
    connection_name: str = "",
    link: str = "",
) -> bool:
    """End the run, if it still matches `only_if` (the worker: while it holds the lease;
    member removal: while it is unfinished), with its audit event; False when it did not
    (someone else ended it or took it over). A worker still driving a run ended elsewhere
    finds its lease gone at its next save, and stops."""
    now = timezone.now()
    values = {
        "status": status,
        "status_reason": reason[:500],
        "final_text": final_text,
        "connection_name": connection_name,
        "authorization_link": link,
        "pending_tool_calls": [],
        "finished_at": now,
        "lease_owner": "",
        "lease_expires_at": None,
    }
    with transaction.atomic():
        if not AgentRun.objects.filter(only_if, pk=run.pk).update(**values):
            return False
        for field, value in values.items():
            setattr(run, field, value)
        metrics.run_finished(status=status, seconds=(now - run.created_at).total_seconds())
        record_run_event(
            run,
            "agent_run.finished",
            actor=trail.Actor.system(f"agent {run.agent.name}"),
            outcome=AuditEvent.Outcome.SUCCESS
            if status == RunStatus.SUCCEEDED
            else AuditEvent.Outcome.FAILURE,
            status=status,
            reason=reason[:200],
            model_calls=run.model_calls,
            tokens=run.total_tokens,
        )
    return True


def end_runs_of_removed_member(*, organization: Any, user: Any, caller: Caller) -> int:
    """A removed member's unfinished runs end: none waits for an approval, none resumes."""
    unfinished = AgentRun.objects.for_org(organization).filter(
        Q(user=user) | Q(identifier=user.identifier), status__in=UNFINISHED
    )
    ended = 0
    for run_id in unfinished.values_list("pk", flat=True):
        with transaction.atomic():
            run = (
                AgentRun.objects.select_for_update(of=("self",))
                .select_related("agent", "organization")
                .filter(pk=run_id, status__in=UNFINISHED)
                .first()
            )
            if run is None:
                continue  # it ended meanwhile
            waiting = waiting_call(run)
            if waiting is not None:
                AgentStep.objects.filter(run=run, tool_call_id=waiting.step_key).update(
                    outcome=AgentStep.Outcome.DECLINED
                )
                record_run_event(
                    run,
                    "agent_run.rejected",
                    caller=caller,
                    tool=waiting.name,
                    reason="member_removed",
                )
            ended += finish(
                run,
                RunStatus.FAILED,
                "The user was removed from the organization.",
                only_if=Q(status__in=UNFINISHED),
            )
    return ended
