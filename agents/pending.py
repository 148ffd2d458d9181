"""The tool calls a model asked for that a run has not finished: what each one is, what
was decided about it, and how it is shown to the person deciding."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from agents.models import AgentRun, RunStatus
from core.fingerprints import fingerprint


@dataclass(frozen=True)
class PendingCall:
    """One tool call as the model wrote it (stored in `AgentRun.pending_tool_calls`), and
    the decision an approval added to it ("", "approved" or "declined")."""

    raw: dict[str, Any]

    @property
    def id(self) -> str:
        return self.raw["id"]

    @property
    def step_key(self) -> str:
        """The id as an AgentStep stores it (its column is 100 characters)."""
        return self.id[:100]

    @property
    def name(self) -> str:
        return self.raw["function"]["name"]

    @property
    def decision(self) -> str:
        return self.raw.get("decision", "")

    @property
    def approvers(self) -> list[str]:
        """Who may approve, when a policy rule holding the call names them."""
        return list(self.raw.get("approvers") or [])

    @property
    def arguments(self) -> dict[str, Any] | None:
        """The arguments as a JSON object, or None when the model wrote something else."""
        try:
            parsed = json.loads(self.raw["function"].get("arguments") or "{}")
        except ValueError:
            return None
        return parsed if isinstance(parsed, dict) else None

    def decided(self, *, approve: bool) -> PendingCall:
        return PendingCall({**self.raw, "decision": "approved" if approve else "declined"})

    def fingerprint(self, run: AgentRun) -> str:
        """What an approval of this call names: the run, the step's tool call, the tool and
        every argument (DESIGN §13 rule 24)."""
        return fingerprint(str(run.pk), self.id, self.name, self.arguments or {})


def calls_of(run: AgentRun) -> list[PendingCall]:
    return [PendingCall(call) for call in run.pending_tool_calls or []]


def waiting_call(run: AgentRun) -> PendingCall | None:
    """The call a paused run waits on."""
    if run.status != RunStatus.AWAITING_APPROVAL or not run.pending_tool_calls:
        return None
    return PendingCall(run.pending_tool_calls[0])


def pending_call(run: AgentRun) -> dict[str, Any] | None:
    """The call a paused run waits on, as shown to the person deciding: whole — audit
    redaction is for the log, never for a decision."""
    call = waiting_call(run)
    if call is None:
        return None
    return {
        "tool_call_id": call.id,
        "tool_name": call.name,
        "arguments": call.arguments or {},
        "fingerprint": call.fingerprint(run),
        # Arguments that came from a tool result (agents/untrusted.py), and from which.
        "untrusted": call.raw.get("untrusted") or {},
        "approvers": call.approvers,
    }
