"""Agent runs: the tool-calling loop over Chat Completions, as the requesting user.

DESIGN §4 flow 8. A run's identifier comes from the requesting user (only an API key may
name one). The model is offered only that identifier's tools intersected with the agent's
allow-list (toolbox.py); every tool call goes through `execute_tool` with the user's own
token; every model call and tool call is an AgentStep. With approval on, a write tool call
pauses the run until its user (or an admin) decides — whatever the model or a tool result
says (§7 rule 13). Starting and deciding are runs.py.
"""

from __future__ import annotations

import contextlib
import logging
import time
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone

from agents import approval_links, leases, llm, toolbox, untrusted
from agents.answers import Answer, meta_tool_answer
from agents.models import Agent, AgentRun, AgentStep, RunStatus
from agents.pending import PendingCall, calls_of
from agents.runs import finish, record_run_event
from audit import trail
from audit.trail import Statement
from connections import budgets, discovery, policy, results, tools
from connections.errors import NeedsReauthorization
from core.db import read_call, settle, settle_left_over
from core.errors import PortalError

logger = logging.getLogger(__name__)

# The run's fields saved with each step (leases.save_with_step).
MODEL_STEP_FIELDS = (
    "messages",
    "model_calls",
    "prompt_tokens",
    "completion_tokens",
    "pending_tool_calls",
)
TOOL_STEP_FIELDS = ("messages", "pending_tool_calls")


class RunDeadline(Exception):
    """The run exceeded its wall-clock limit."""


def execute_run(run_id: Any) -> None:
    """Claim a run (queued, or running under a lapsed lease: its worker died) and drive it
    until it finishes or pauses, holding a lease renewed while it works. Called by the task."""
    run = leases.claim(run_id)
    if run is None:
        return  # another worker has it, or it finished
    try:
        with leases.held(run):
            try:
                Loop(run).drive()
            except RunDeadline:
                limit = int(settings.RUN_WALL_CLOCK_LIMIT_SECONDS)
                end(run, RunStatus.FAILED, f"wall_clock: the run took longer than {limit} seconds.")
            except llm.ModelError as exc:
                end(run, RunStatus.FAILED, str(exc))
            except leases.LeaseLost:
                raise
            except Exception:
                logger.exception("agent run %s crashed", run.pk)
                end(run, RunStatus.FAILED, "The run stopped on an internal error; it was logged.")
    except leases.LeaseLost:
        logger.warning("agent run %s was taken over or ended elsewhere", run.pk)
    finally:
        settle_left_over()  # nothing ahead crosses into this thread's next task


def end(run: AgentRun, status: str, reason: str = "", **details: str) -> None:
    """End the run this worker drives — only while it still holds the lease (its last
    step, if sent ahead, answered first)."""
    settle()
    finish(run, status, reason, only_if=Q(lease_owner=leases.ME), **details)


class Loop:
    """One worker's drive of one run, from where its stored conversation stands."""

    def __init__(self, run: AgentRun) -> None:
        self.run = run
        self.agent = run.agent
        self.org = run.organization
        self.caller = toolbox.run_caller(run)
        self.spender = budgets.Spender(
            organization=self.org, identifier=run.identifier, agent=self.agent.name
        )
        self.available = toolbox.agent_tools(self.agent, self.caller)
        # The tool steps already written (a resumed run; an approval), by tool call id: one
        # query here rather than one per tool call.
        self.tool_steps = {
            step.tool_call_id: step
            for step in run.steps.filter(kind=AgentStep.Kind.TOOL).exclude(tool_call_id="")
        }
        self.next_index = (run.steps.aggregate(top=Max("index"))["top"] or 0) + 1
        # A result was too large for the model: it is offered read_result from then on.
        self.results_stored = any(step.result_id for step in self.tool_steps.values())
        started = run.started_at or timezone.now()  # claim() sets it
        self.deadline = started + timedelta(seconds=settings.RUN_WALL_CLOCK_LIMIT_SECONDS)
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
        if run.pending_tool_calls and not self._tool_calls(calls_of(run)):
            return
        client = llm.client_for(self.agent)
        if discovery.uses_discovery(self.agent.tool_mode, len(self.available)):
            specs = discovery.DISCOVERY_TOOLS
        else:
            specs = [toolbox.model_tool(entry) for entry in self.available.values()]
        offers = {False: llm.Offer(specs)}  # with read_result (once a result was stored) or not
        while run.model_calls < self.agent.max_steps:
            self._check_deadline()
            started = time.perf_counter()
            if self.results_stored not in offers:
                offers[True] = llm.Offer([*specs, results.READ_RESULT_TOOL])
            if not self._within_budget():
                return
            reply = llm.complete(client, self.agent, run.messages, offers[self.results_stored])
            run.model_calls += 1
            run.prompt_tokens += reply.prompt_tokens
            run.completion_tokens += reply.completion_tokens
            run.messages.append(reply.message)
            # A discovery `call_tool` is stored as the call of the tool it names: approvals,
            # checks and the run's record see the real tool (connections/discovery.py).
            run.pending_tool_calls = [discovery.unwrap(call) for call in reply.tool_calls]
            toolbox.look_up_ahead(self.available, self.caller, run.pending_tool_calls)
            # The step, the conversation it extends, the calls it asks for and the tokens
            # spent are stored together (one statement): a worker that dies after it
            # resumes from here.
            spent = budgets.counting(
                self.spender, tokens=reply.prompt_tokens + reply.completion_tokens
            )
            self._step(
                kind=AgentStep.Kind.MODEL,
                latency=time.perf_counter() - started,
                summary=(reply.message["content"] or "")[:2000]
                or f"{len(reply.tool_calls)} tool call(s)",
                prompt_tokens=reply.prompt_tokens,
                completion_tokens=reply.completion_tokens,
                saving=MODEL_STEP_FIELDS,
                along=[spent] if spent is not None else [],
                held=bool(reply.tool_calls),  # sent once the first call's account is found
            )
            if not reply.tool_calls:
                end(run, RunStatus.SUCCEEDED, final_text=reply.message["content"])
                return
            if not self._tool_calls(calls_of(run)):
                return
        end(
            run,
            RunStatus.FAILED,
            f"max_steps: stopped after {self.agent.max_steps} model calls without a final answer.",
        )

    def _within_budget(self) -> bool:
        """False (the run ended `budget_exceeded`) when a model-token budget is used up."""
        try:
            budgets.check(
                self.spender, metric="tokens", budgets=list(policy.loaded(self.org).budgets)
            )
        except budgets.BudgetExceeded as exceeded:
            end(self.run, RunStatus.FAILED, f"budget_exceeded: {exceeded.message}")
            return False
        return True

    def _tool_calls(self, calls: list[PendingCall]) -> bool:
        """Run a message's tool calls in order. False when the run paused or ended.

        Each call's result is stored with the calls still to run, in one commit; so the
        list of pending calls is always exactly what a resumed run still has to do.
        """
        for position, call in enumerate(calls):
            self._check_deadline()
            remaining = calls[position + 1 :]
            entry = self.available.get(call.name)
            arguments = call.arguments
            if call.name in {*discovery.META_TOOLS, results.READ_RESULT} and entry is None:
                found = meta_tool_answer(
                    call.name,
                    arguments or {},
                    available=self.available,
                    run=self.run,
                    result_limit=self.agent.result_limit,
                )
                self._tool_result(call, found, remaining)
            elif entry is None:
                # Never offered, never executed (§7 rule 14), whatever the model asks for.
                message = f"{call.name} is not available to this agent."
                self._tool_result(call, Answer.refused("tool_not_available", message), remaining)
            elif arguments is None:
                message = "The arguments are not a JSON object."
                self._tool_result(call, Answer.refused("invalid_arguments", message), remaining)
            elif call.decision == "declined":
                declined = Answer.refused(
                    "declined",
                    "The user declined this action. Do not retry it.",
                    outcome=AgentStep.Outcome.DECLINED,
                )
                self._tool_result(call, declined, remaining, arguments=arguments)
            elif self._needs_approval(entry, call, arguments):
                self._await_approval(call, arguments, calls[position:])
                return False
            elif not self._execute(call, entry, arguments, remaining):
                return False
        return True

    def _needs_approval(
        self, entry: tools.AvailableTool, call: PendingCall, arguments: dict[str, Any]
    ) -> bool:
        """Writes under "ask before writes"; writes carrying content that came from a tool
        result (agents/untrusted.py: marked on the call for the person deciding); and any
        call a policy rule wants approved."""
        if call.decision == "approved":
            return False
        context = policy.Context(caller=self.caller, via="agent", agent=self.agent.name)
        rule = policy.decide(entry.tool, arguments, context)
        held = policy.needs_approval(rule)
        if held and rule is not None and rule.approvers:
            call.raw["approvers"] = list(rule.approvers)  # four-eyes: agents/approval_links.py
        if entry.tool.write:
            marks = untrusted.untrusted_arguments(
                tool_name=entry.tool.name,
                arguments=arguments,
                prompt=self.run.prompt,
                messages=self.run.messages,
            )
            if marks:
                call.raw["untrusted"] = marks
                return True
            if self.agent.approval_policy == Agent.Approval.ALWAYS:
                return True
        return held

    def _await_approval(
        self, call: PendingCall, arguments: dict[str, Any], waiting: list[PendingCall]
    ) -> None:
        run = self.run
        run.pending_tool_calls = [pending.raw for pending in waiting]
        run.status = RunStatus.AWAITING_APPROVAL
        with transaction.atomic():
            if call.step_key not in self.tool_steps:
                self._step(
                    kind=AgentStep.Kind.TOOL,
                    tool_name=call.name[:64],
                    tool_call_id=call.step_key,
                    arguments=trail.redact(arguments),
                    outcome=AgentStep.Outcome.AWAITING_APPROVAL,
                    summary="Waiting for the user to approve this write.",
                )
            else:  # held once it was started (the hook wanted approval): waits now
                step = self.tool_steps[call.step_key]
                step.outcome = AgentStep.Outcome.AWAITING_APPROVAL
                step.save(update_fields=["outcome"])
            leases.save(self.run, "messages", "pending_tool_calls", "status")
            actor = trail.Actor.system(f"agent {self.agent.name}")
            record_run_event(
                run,
                "agent_run.awaiting_approval",
                actor=actor,
                tool=call.name,
                tool_call_id=call.id,
            )
            approval_links.request_for_run(run, call, actor=actor)

    def _begin_step(self, call: PendingCall, entry: tools.AvailableTool, arguments: dict) -> bool:
        """Write a write tool's step ahead of the call (its own commit). True when a step
        was already started: the worker that started it died before its result was stored.
        Reads need no such mark: a read cut short is simply run again."""
        step = self.tool_steps.get(call.step_key)
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
            tool_call_id=call.step_key,
            arguments=trail.redact(arguments),
            outcome=AgentStep.Outcome.STARTED,
            summary="Running…",
        )
        return False

    def _execute(
        self,
        call: PendingCall,
        entry: tools.AvailableTool,
        arguments: dict[str, Any],
        remaining: list[PendingCall],
    ) -> bool:
        if self._begin_step(call, entry, arguments) and entry.tool.write:
            # Never repeated blindly: the write may have happened. The model is told so,
            # and can check with a read tool before trying again.
            unknown = Answer.refused(
                "outcome_unknown",
                "The portal stopped while this action was running, so it may or may not "
                "have happened. Check with a read tool before trying it again.",
                outcome=AgentStep.Outcome.UNKNOWN,
            )
            self._tool_result(call, unknown, remaining, arguments=arguments)
            return True
        # A read's audit event goes with its step: one round trip and one commit less.
        with trail.Carried() as carried:
            return self._call(call, entry, arguments, remaining, carried)

    def _call(
        self,
        call: PendingCall,
        entry: tools.AvailableTool,
        arguments: dict[str, Any],
        remaining: list[PendingCall],
        carried: trail.Carried,
    ) -> bool:
        started = time.perf_counter()
        try:  # a read's request may leave while the step asking for it is written: core/db
            with contextlib.nullcontext() if entry.tool.write else read_call():
                result = tools.execute_tool(
                    caller=self.caller,
                    tool_name=entry.tool.name,
                    params=arguments,
                    connection_name=entry.connection_name,
                    actor=self.actor,
                    run_id=str(self.run.pk),
                    via="agent",
                    agent=self.agent.name,
                    approved=call.decision == "approved",
                    carried=carried,
                )
        except PortalError as exc:
            if exc.code == "approval_required" and call.decision != "approved":
                self._await_approval(call, arguments, [call, *remaining])  # the hook asked
                return False
            details = exc.details if isinstance(exc.details, dict) else {}
            failed = Answer.refused(
                exc.code,
                exc.message,
                execution_id=details.get("execution_id", ""),
                latency=time.perf_counter() - started,
            )
            self._tool_result(call, failed, remaining, arguments=arguments, carried=carried)
            if isinstance(exc, NeedsReauthorization):
                connection_name = details.get("connection_name") or entry.connection_name
                end(
                    self.run,
                    RunStatus.NEEDS_CONNECTION,
                    f"Reconnect {connection_name} to continue.",
                    connection_name=connection_name,
                    link=details.get("authorization_link") or "",
                )
                return False
            if exc.code == "budget_exceeded":
                end(self.run, RunStatus.FAILED, f"budget_exceeded: {exc.message}")
                return False
            return True
        answer = Answer(
            data=result["data"],
            execution_id=result["execution_id"],
            latency=time.perf_counter() - started,
        )
        self._tool_result(call, answer, remaining, arguments=arguments, carried=carried)
        return True

    def _tool_result(
        self,
        call: PendingCall,
        answer: Answer,
        remaining: list[PendingCall],
        *,
        arguments: dict[str, Any] | None = None,
        carried: trail.Carried | None = None,
    ) -> None:
        """Append the `role: tool` message and record (or complete) the tool step, with the
        calls still to run (and the whole result, when too large for the model; and the
        call's audit event, when `carried`), in one commit."""
        content = answer.content()
        bounded = not answer.error_code and call.name != results.READ_RESULT
        existing = self.tool_steps.get(call.step_key)
        # A new step is one statement; a result to store, or a step written ahead, go
        # with it in one transaction.
        alone = existing is None and not (
            bounded and not results.fits(content, self.agent.result_limit)
        )
        with contextlib.nullcontext() if alone else transaction.atomic():
            stored = None
            if bounded:
                content, stored = results.bounded(
                    text=content,
                    limit=self.agent.result_limit,
                    organization=self.org,
                    identifier=self.run.identifier,
                    execution_id=answer.execution_id,
                )
                self.results_stored = self.results_stored or stored is not None
            self.run.messages.append({"role": "tool", "tool_call_id": call.id, "content": content})
            self.run.pending_tool_calls = [pending.raw for pending in remaining]
            fields = {
                "kind": AgentStep.Kind.TOOL,
                "tool_name": call.name[:64],
                "tool_call_id": call.step_key,
                "arguments": trail.redact(arguments or {}),
                "outcome": answer.step_outcome,
                "summary": (answer.error_message or content)[:2000],
                "error_code": answer.error_code,
                "execution_id": answer.execution_id,
                "latency_ms": round(answer.latency * 1000, 1),
                "result": stored,
            }
            if existing is not None:  # written ahead, or waiting for approval: completed now
                for key, value in fields.items():
                    setattr(existing, key, value)
                existing.save(update_fields=list(fields))
                leases.save(self.run, *TOOL_STEP_FIELDS)
            else:
                # A message's last step goes ahead of the next model request (core/db.py).
                ahead = not remaining
                self._step(**fields, saving=TOOL_STEP_FIELDS, carried=carried, ahead=ahead)

    def _step(
        self,
        *,
        kind: str,
        latency: float = 0.0,
        saving: tuple[str, ...] = (),
        along: list[Statement] | None = None,
        carried: trail.Carried | None = None,
        ahead: bool = False,
        held: bool = False,
        **fields: Any,
    ) -> None:
        """Record a step; with the run's fields `saving` (and the statements `along`, the
        events `carried`) in one statement when there are any (leases.save_with_step)."""
        fields.setdefault("latency_ms", round(latency * 1000, 1))
        step = AgentStep(
            organization=self.org, run=self.run, index=self.next_index, kind=kind, **fields
        )
        if saving:
            leases.save_with_step(
                self.run,
                saving,
                step=step,
                along=along or [],
                carried=carried,
                ahead=ahead,
                held=held,
            )
        else:
            step.save(force_insert=True)
        if step.tool_call_id:
            self.tool_steps[step.tool_call_id] = step
        self.next_index += 1

    def _end_if_unconnected(self) -> bool:
        """No tools at all: if a connection this agent uses lacks an ACTIVE account, say so."""
        connection = toolbox.missing_connection(self.agent, self.run)
        if connection is None:
            return False
        end(
            self.run,
            RunStatus.NEEDS_CONNECTION,
            f"Connect your {connection.provider_spec.display_name} account ({connection.name}) "
            "to use this agent.",
            connection_name=connection.name,
            link=toolbox.connection_link(connection, self.run),
        )
        return True
