"""Which runs a caller sees, and how they are filtered and shown (pages and API)."""

from __future__ import annotations

import json
import uuid
from typing import Any

from django.db.models import Q

from agents.models import AgentRun, RunStatus
from core.errors import Invalid
from core.fingerprints import fingerprint
from portal.callers import Caller


def runs_visible_to(caller: Caller):
    """Runs a caller may see: all of the org for keys and admins; for members, the runs
    they started or that ran as their identifier (e.g. started by their company's backend)."""
    runs = AgentRun.objects.for_org(caller.organization).select_related("agent", "user")
    if caller.api_key is not None or caller.can_manage:
        return runs
    if caller.user is None:
        return runs.none()
    return runs.filter(Q(user=caller.user) | Q(identifier=caller.user.identifier))


def find_run(runs, run_id: Any) -> AgentRun | None:
    try:
        return runs.filter(pk=uuid.UUID(str(run_id))).first()
    except ValueError:
        return None


def filter_runs(runs, *, agent_id: str = "", user_id: str = "", status: str = "", strict: bool):
    """Narrow runs by agent, user and status. `strict` (the API) refuses unknown values;
    pages ignore them (their filters are select boxes)."""
    if status:
        if status in RunStatus.values:
            runs = runs.filter(status=status)
        elif strict:
            raise Invalid(f"Unknown status {status!r}.", code="invalid_status")
    for field, value in (("agent_id", agent_id), ("user_id", user_id)):
        if not value:
            continue
        try:
            runs = runs.filter(**{field: int(value) if field == "user_id" else uuid.UUID(value)})
        except ValueError:
            if strict:
                raise Invalid(f"{field} is not a valid id.", code=f"invalid_{field}") from None
    return runs


def call_arguments(call: dict[str, Any]) -> Any:
    try:
        return json.loads(call["function"].get("arguments") or "{}")
    except ValueError:
        return {}


def call_fingerprint(run: AgentRun, call: dict[str, Any]) -> str:
    """What an approval of this call names: the run, the step's tool call, the tool and
    every argument (DESIGN §13 rule 24)."""
    return fingerprint(str(run.pk), call["id"], call["function"]["name"], call_arguments(call))


def pending_call(run: AgentRun) -> dict[str, Any] | None:
    """The tool call a paused run waits on, as shown to the person deciding: whole — audit
    redaction is for the log, never for a decision."""
    if run.status != RunStatus.AWAITING_APPROVAL or not run.pending_tool_calls:
        return None
    call = run.pending_tool_calls[0]
    return {
        "tool_call_id": call["id"],
        "tool_name": call["function"]["name"],
        "arguments": call_arguments(call),
        "fingerprint": call_fingerprint(run, call),
    }
