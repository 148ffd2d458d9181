"""Agent runs: the tool-calling loop over Chat Completions, as the requesting user.

DESIGN §4 flow 8. A run's identifier comes from the requesting user (only an
API key may name one). The model is offered only that identifier's tools
intersected with the agent's allow-list; every tool call goes through
`execute_tool` with the user's own token; every model call and tool call is an
AgentStep. With approval on, a write tool call pauses the run until its user
(or an admin) decides — whatever the model or a tool result says (§7 rule 13).
"""

from __future__ import annotations

import json
import logging
import time
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Max, Q
from django.http import HttpRequest
from django.utils import timezone

from agents import leases, llm, runs
from agents.models import Agent, AgentRun, AgentStep, RunStatus
from audit import trail
from audit.models import AuditEvent
from connections import accounts, authorization, tools
from connections.errors import NeedsReauthorization
from connections.models import AccountStatus, ConnectedAccount, Connection
from core.db import release_connection
from core.dependencies import enqueue_after_commit, require_background_work
from core.errors import Conflict, Forbidden, Invalid, PortalError
from portal.callers import Caller
from portal.identifiers import validate_identifier

logger = logging.getLogger(__name__)

RESULT_BUDGET = 6000  # characters of tool output handed back to the model
MAX_PROMPT = 20_000


# --- Starting and deciding -----------------------------------------------------------------


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
        trail.record(
            action="agent_run.started",
            organization=agent.organization,
            caller=caller,
            request=request,
            identifier=identifier,
            target_type="agent_run",
            target_id=run.pk,
            metadata={"agent": agent.name, "model": agent.model},
        )
        enqueue_after_commit(lambda: _enqueue(run.pk))
    return run


def _enqueue(run_id) -> None:
    from agents.tasks import run_agent  # the task module imports this one

    run_agent.delay(str(run_id))


def may_decide(run: AgentRun, *, caller: Caller) -> bool:
    """The run's own user, an owner/admin, or the organization's API key."""
    if caller.organization.pk != run.organization_id:
        return False
    if caller.api_key is not None or caller.can_manage:
        return True
    user = caller.user
    return user is not None and (run.user_id == user.pk or run.identifier == user.identifier)


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
        if run.status != RunStatus.AWAITING_APPROVAL or not run.pending_tool_calls:
            raise Conflict("This run is not waiting for an approval.", code="not_awaiting_approval")
        waiting = run.pending_tool_calls[0]
        if waiting["id"] != tool_call_id or runs.call_fingerprint(run, waiting) != fingerprint:
            raise Conflict(
                "The run now waits on another call than the one you decided on; look at it again.",
                code="approval_mismatch",
            )
        call = dict(waiting)
        call["decision"] = "approved" if approve else "declined"
        run.pending_tool_calls = [call, *run.pending_tool_calls[1:]]
        run.status = RunStatus.QUEUED
        run.save(update_fields=["pending_tool_calls", "status"])
        AgentStep.objects.filter(run=run, tool_call_id=call["id"]).update(
            outcome=AgentStep.Outcome.APPROVED if approve else AgentStep.Outcome.DECLINED
        )
        trail.record(
            action="agent_run.approved" if approve else "agent_run.rejected",
            organization=run.organization,
            actor=decided_by,
            request=request,
            identifier=run.identifier,
            target_type="agent_run",
            target_id=run.pk,
            metadata={"tool": call["function"]["name"], "tool_call_id": call["id"]},
        )
        enqueue_after_commit(lambda: _enqueue(run.pk))
    return run


# --- The loop ---------------------------------------------------------------------------------


class RunDeadline(Exception):
    """The run exceeded its wall-clock limit."""


def execute_run(run_id) -> None:
    """Claim a run (queued, or running under a lapsed lease: its worker died) and drive it
    until it finishes or pauses, holding a lease renewed while it works. Called by the task."""
    run = leases.claim(run_id)
    if run is None:
        return  # another worker has it, or it finished
    try:
        with leases.held(run):
            _Loop(run).drive()
    except leases.LeaseLost:
        logger.warning("agent run %s was taken over by another worker", run.pk)
    except RunDeadline:
        limit = int(settings.RUN_WALL_CLOCK_LIMIT_SECONDS)
        _finish(run, RunStatus.FAILED, f"wall_clock: the run took longer than {limit} seconds.")
    except llm.ModelError as exc:
        _finish(run, RunStatus.FAILED, str(exc))
    except Exception:
        logger.exception("agent run %s crashed", run.pk)
        _finish(run, RunStatus.FAILED, "The run stopped on an internal error; it was logged.")


def resume_stalled_runs() -> int:
    """Hand runs whose worker died back to the queue (their lease lapsed); end those past
    their wall-clock limit. The periodic job `resume_stalled_runs` calls it."""
    resumed = 0
    for run_id in leases.stalled_run_ids():
        _enqueue(run_id)
        resumed += 1
    return resumed


class _Loop:
    def __init__(self, run: AgentRun) -> None:
        self.run = run
        self.agent = run.agent
        self.org = run.organization
        self.caller = run_caller(run)
        self.available = agent_tools(self.agent, self.caller)
        # The tool steps already written (a resumed run; an approval), by tool call id: one
        # query here rather than one per tool call.
        self.tool_steps = {
            step.tool_call_id: step
            for step in run.steps.filter(kind=AgentStep.Kind.TOOL).exclude(tool_call_id="")
        }
        self.next_index = (run.steps.aggregate(top=Max("index"))["top"] or 0) + 1
        self.deadline = run.started_at + timedelta(seconds=settings.RUN_WALL_CLOCK_LIMIT_SECONDS)
        if run.user_id:
            self.actor = trail.Actor.user(run.user)
        elif run.api_key_id:
            self.actor = trail.Actor.api_key(run.api_key)
        else:
            self.actor = trail.Actor.system(f"agent {self.agent.name}")

    def _check_deadline(self) -> None:
        if timezone.now() > self.deadline:
            raise RunDeadline()

    def drive(self) -> None:
        run = self.run
        self._check_deadline()
        if not self.available and self._end_if_unconnected():
            return
        if not run.messages:
            run.messages = [
                {
                    "role": "system",
                    "content": self.agent.instructions or "You are a helpful assistant.",
                },
                {"role": "user", "content": run.prompt},
            ]
        # A resumed run first finishes the tool calls its last model message asked for.
        if run.pending_tool_calls and not self._tool_calls(run.pending_tool_calls):
            return
        client = llm.client_for(self.agent)
        specs = [_openai_tool(entry) for entry in self.available.values()]
        while run.model_calls < self.agent.max_steps:
            self._check_deadline()
            started = time.perf_counter()
            release_connection()  # no connection held while the model thinks
            reply = llm.complete(client, self.agent, run.messages, specs)
            run.model_calls += 1
            run.prompt_tokens += reply.prompt_tokens
            run.completion_tokens += reply.completion_tokens
            run.messages.append(reply.message)
            run.pending_tool_calls = reply.tool_calls
            # The step, the conversation it extends and the calls it asks for are stored
            # together (one commit): a worker that dies after it resumes from here.
            with transaction.atomic():
                self._step(
                    kind=AgentStep.Kind.MODEL,
                    latency=time.perf_counter() - started,
                    summary=(reply.message["content"] or "")[:2000]
                    or f"{len(reply.tool_calls)} tool call(s)",
                    prompt_tokens=reply.prompt_tokens,
                    completion_tokens=reply.completion_tokens,
                )
                self._save(
                    "messages",
                    "model_calls",
                    "prompt_tokens",
                    "completion_tokens",
                    "pending_tool_calls",
                )
            if not reply.tool_calls:
                _finish(run, RunStatus.SUCCEEDED, final_text=reply.message["content"])
                return
            if not self._tool_calls(reply.tool_calls):
                return
        _finish(
            run,
            RunStatus.FAILED,
            f"max_steps: stopped after {self.agent.max_steps} model calls without a final answer.",
        )

    def _tool_calls(self, calls: list[dict[str, Any]]) -> bool:
        """Run a message's tool calls in order. False when the run paused or ended.

        Each call's result is stored with the calls still to run, in one commit; so the
        list of pending calls is always exactly what a resumed run still has to do.
        """
        run = self.run
        for position, call in enumerate(calls):
            self._check_deadline()
            remaining = calls[position + 1 :]
            name = call["function"]["name"]
            entry = self.available.get(name)
            decision = call.get("decision")
            try:
                arguments = json.loads(call["function"].get("arguments") or "{}")
            except ValueError:
                arguments = None
            if entry is None:
                # Never offered, never executed (§7 rule 14), whatever the model asks for.
                self._tool_result(
                    call,
                    {},
                    remaining,
                    error=("tool_not_available", f"{name} is not available to this agent."),
                )
                continue
            if arguments is None or not isinstance(arguments, dict):
                self._tool_result(
                    call,
                    {},
                    remaining,
                    error=("invalid_arguments", "The arguments are not a JSON object."),
                )
                continue
            if decision == "declined":
                self._tool_result(
                    call,
                    arguments,
                    remaining,
                    error=("declined", "The user declined this action. Do not retry it."),
                    outcome=AgentStep.Outcome.DECLINED,
                )
                continue
            needs_approval = (
                entry.tool.write and self.agent.approval_policy == Agent.Approval.ALWAYS
            )
            if needs_approval and decision != "approved":
                run.pending_tool_calls = calls[position:]
                run.status = RunStatus.AWAITING_APPROVAL
                with transaction.atomic():
                    if not self._existing_step(call):
                        self._step(
                            kind=AgentStep.Kind.TOOL,
                            tool_name=name,
                            tool_call_id=call["id"],
                            arguments=trail.redact(arguments),
                            outcome=AgentStep.Outcome.AWAITING_APPROVAL,
                            summary="Waiting for the user to approve this write.",
                        )
                    self._save("messages", "pending_tool_calls", "status")
                    trail.record(
                        action="agent_run.awaiting_approval",
                        organization=self.org,
                        actor=trail.Actor.system(f"agent {self.agent.name}"),
                        identifier=run.identifier,
                        target_type="agent_run",
                        target_id=run.pk,
                        metadata={"tool": name, "tool_call_id": call["id"]},
                    )
                return False
            if not self._execute(call, entry, arguments, remaining):
                return False
        return True

    def _existing_step(self, call: dict) -> AgentStep | None:
        return self.tool_steps.get(call["id"][:100])

    def _begin_step(self, call: dict, entry: tools.AvailableTool, arguments: dict) -> bool:
        """Write a write tool's step ahead of the call (its own commit). True when a step
        was already started: the worker that started it died before its result was stored.
        Reads need no such mark: a read cut short is simply run again."""
        step = self._existing_step(call)
        if step is not None and step.outcome == AgentStep.Outcome.STARTED:
            return True
        if not entry.tool.write:
            return False
        if step is not None:  # approved after waiting: it runs now
            step.outcome = AgentStep.Outcome.STARTED
            step.save(update_fields=["outcome"])
            return False
        self._step(
            kind=AgentStep.Kind.TOOL,
            tool_name=entry.name[:64],
            tool_call_id=call["id"][:100],
            arguments=trail.redact(arguments),
            outcome=AgentStep.Outcome.STARTED,
            summary="Running…",
        )
        return False

    def _execute(
        self, call: dict, entry: tools.AvailableTool, arguments: dict, remaining: list
    ) -> bool:
        if self._begin_step(call, entry, arguments) and entry.tool.write:
            # Never repeated blindly: the write may have happened. The model is told so,
            # and can check with a read tool before trying again.
            self._tool_result(
                call,
                arguments,
                remaining,
                error=(
                    "outcome_unknown",
                    "The portal stopped while this action was running, so it may or may not "
                    "have happened. Check with a read tool before trying it again.",
                ),
                outcome=AgentStep.Outcome.UNKNOWN,
            )
            return True
        started = time.perf_counter()
        try:
            result = tools.execute_tool(
                caller=self.caller,
                tool_name=entry.tool.name,
                params=arguments,
                connection_name=entry.connection_name,
                actor=self.actor,
                run_id=str(self.run.pk),
                via="agent",
            )
        except NeedsReauthorization as exc:
            self._tool_result(
                call, arguments, remaining, error=(exc.code, exc.message), started=started
            )
            details = exc.details or {}
            _finish(
                self.run,
                RunStatus.NEEDS_CONNECTION,
                f"Reconnect {details.get('connection_name') or entry.connection_name} to continue.",
                connection_name=details.get("connection_name") or entry.connection_name,
                link=details.get("authorization_link") or "",
            )
            return False
        except PortalError as exc:
            self._tool_result(
                call,
                arguments,
                remaining,
                error=(exc.code, exc.message),
                started=started,
                execution_id=(exc.details or {}).get("execution_id", "")
                if isinstance(exc.details, dict)
                else "",
            )
            return True
        self._tool_result(
            call,
            arguments,
            remaining,
            data=result["data"],
            started=started,
            execution_id=result["execution_id"],
        )
        return True

    def _tool_result(
        self,
        call: dict,
        arguments: dict,
        remaining: list,
        *,
        data: Any = None,
        error: tuple[str, str] | None = None,
        started: float | None = None,
        execution_id: str = "",
        outcome: str | None = None,
    ) -> None:
        """Append the `role: tool` message and record (or complete) the tool step, with the
        calls still to run, in one commit."""
        if error:
            content = json.dumps({"error": {"code": error[0], "message": error[1]}})
        else:
            content = json.dumps(data, default=str)
            if len(content) > RESULT_BUDGET:
                content = content[:RESULT_BUDGET] + " …(truncated)"
        self.run.messages.append({"role": "tool", "tool_call_id": call["id"], "content": content})
        self.run.pending_tool_calls = remaining
        fields = {
            "kind": AgentStep.Kind.TOOL,
            "tool_name": call["function"]["name"][:64],
            "tool_call_id": call["id"][:100],
            "arguments": trail.redact(arguments),
            "outcome": outcome or (AgentStep.Outcome.ERROR if error else AgentStep.Outcome.OK),
            "summary": (error[1] if error else content)[:2000],
            "error_code": error[0] if error else "",
            "execution_id": execution_id,
            "latency": (time.perf_counter() - started) if started else 0.0,
        }
        with transaction.atomic():
            existing = self._existing_step(call)
            if existing is not None:  # written ahead, or waiting for approval: completed now
                fields["latency_ms"] = round(fields.pop("latency") * 1000, 1)
                for key, value in fields.items():
                    setattr(existing, key, value)
                existing.save(update_fields=list(fields))
            else:
                self._step(**fields)
            self._save("messages", "pending_tool_calls")

    def _step(self, *, kind: str, latency: float = 0.0, **fields: Any) -> None:
        step = AgentStep.objects.create(
            organization=self.org,
            run=self.run,
            index=self.next_index,
            kind=kind,
            latency_ms=round(latency * 1000, 1),
            **fields,
        )
        if step.tool_call_id:
            self.tool_steps[step.tool_call_id] = step
        self.next_index += 1

    def _save(self, *fields: str) -> None:
        leases.save(self.run, *fields)

    def _end_if_unconnected(self) -> bool:
        """No tools at all: if a connection this agent uses lacks an ACTIVE account, say so."""
        connection = _missing_connection(self.agent, self.org, self.run.identifier)
        if connection is None:
            return False
        _finish(
            self.run,
            RunStatus.NEEDS_CONNECTION,
            f"Connect your {connection.provider_spec.display_name} account ({connection.name}) to use this agent.",
            connection_name=connection.name,
            link=connection_link(connection, self.run),
        )
        return True


def run_caller(run: AgentRun) -> Caller:
    """Whom a run acts as: its identifier, for its user or the API key that started it."""
    return Caller(
        organization=run.organization, user=run.user, api_key=run.api_key, identifier=run.identifier
    )


def agent_tools(agent: Agent, caller: Caller) -> dict[str, tools.AvailableTool]:
    """The caller's tools ∩ the agent's allow-lists (empty list = no restriction), by the
    name the model sees (qualified when the user has two connections of a provider)."""
    available = {}
    for entry in tools.list_tools(caller=caller):
        if agent.allowed_connections and entry.connection_name not in agent.allowed_connections:
            continue
        if agent.allowed_tools and entry.tool.name not in agent.allowed_tools:
            continue
        available[entry.name] = entry
    return available


def _openai_tool(entry: tools.AvailableTool) -> dict[str, Any]:
    tool = entry.tool
    return {
        "type": "function",
        "function": {
            "name": entry.name,
            "description": tool.description,
            "parameters": tool.model_schema,
        },
    }


def _missing_connection(agent: Agent, org, identifier: str) -> Connection | None:
    connections = Connection.objects.for_org(org).filter(enabled=True).order_by("name")
    if agent.allowed_connections:
        connections = connections.filter(name__in=agent.allowed_connections)
    active = set(
        ConnectedAccount.objects.for_org(org)
        .filter(identifier=identifier, status=AccountStatus.ACTIVE)
        .values_list("connection_id", flat=True)
    )
    return next((c for c in connections if c.pk not in active), None)


def connection_link(connection: Connection, run: AgentRun) -> str:
    """A portal connect link for the run's user; "" for identifiers that are not portal users."""
    account, _ = accounts.get_or_create_connected_account(
        organization=run.organization, connection=connection, identifier=run.identifier
    )
    return authorization.reconnect_link(account=account) or ""


def _finish(
    run: AgentRun,
    status: str,
    reason: str = "",
    *,
    final_text: str = "",
    connection_name: str = "",
    link: str = "",
) -> None:
    run.status = status
    run.status_reason = reason[:500]
    run.final_text = final_text
    run.connection_name = connection_name
    run.authorization_link = link
    run.pending_tool_calls = []
    run.finished_at = timezone.now()
    # A worker still driving it finds its lease gone at its next save, and stops.
    run.lease_owner = ""
    run.lease_expires_at = None
    with transaction.atomic():
        run.save()
        trail.record(
            action="agent_run.finished",
            organization=run.organization,
            actor=trail.Actor.system(f"agent {run.agent.name}"),
            identifier=run.identifier,
            target_type="agent_run",
            target_id=run.pk,
            outcome=AuditEvent.Outcome.SUCCESS
            if status == RunStatus.SUCCEEDED
            else AuditEvent.Outcome.FAILURE,
            metadata={
                "status": status,
                "reason": reason[:200],
                "model_calls": run.model_calls,
                "tokens": run.total_tokens,
            },
        )


def check_may_decide(run: AgentRun, *, caller: Caller) -> None:
    if not may_decide(run, caller=caller):
        raise Forbidden("Only the run's user or an admin may decide.", code="not_allowed")


def end_runs_of_removed_member(*, organization, user, caller: Caller) -> int:
    """A removed member's unfinished runs end: none waits for an approval, none resumes."""
    unfinished = (
        AgentRun.objects.for_org(organization)
        .filter(
            Q(user=user) | Q(identifier=user.identifier),
            status__in=[RunStatus.QUEUED, RunStatus.RUNNING, RunStatus.AWAITING_APPROVAL],
        )
        .select_related("agent", "organization")
    )
    ended = 0
    for run in unfinished:
        with transaction.atomic():
            locked = AgentRun.objects.select_for_update(of=("self",)).filter(pk=run.pk).first()
            if locked is None or locked.is_finished:
                continue
            if locked.status == RunStatus.AWAITING_APPROVAL and locked.pending_tool_calls:
                call = locked.pending_tool_calls[0]
                AgentStep.objects.filter(run=locked, tool_call_id=call["id"]).update(
                    outcome=AgentStep.Outcome.DECLINED
                )
                trail.record(
                    action="agent_run.rejected",
                    organization=organization,
                    caller=caller,
                    identifier=run.identifier,
                    target_type="agent_run",
                    target_id=run.pk,
                    metadata={"tool": call["function"]["name"], "reason": "member_removed"},
                )
        _finish(run, RunStatus.FAILED, "The user was removed from the organization.")
        ended += 1
    return ended
