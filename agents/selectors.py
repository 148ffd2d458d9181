"""Reads: which runs a caller sees, and the filters pages and the API narrow them with."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from agents.models import AgentRun, RunStatus
from core.errors import Invalid
from core.tenancy import as_uuid
from portal.callers import Caller


def runs_visible_to(caller: Caller) -> QuerySet[AgentRun]:
    """Runs a caller may see: all of the org for keys and admins; for members, the runs
    they started or that ran as their identifier (e.g. started by their company's backend)."""
    runs = AgentRun.objects.for_org(caller.organization).select_related("agent", "user")
    if caller.api_key is not None or caller.can_manage:
        return runs
    if caller.user is None:
        return runs.none()
    return runs.filter(Q(user=caller.user) | Q(identifier=caller.user.identifier))


def find_run(runs: QuerySet[AgentRun], run_id: Any) -> AgentRun | None:
    run_uuid = as_uuid(run_id)
    return runs.filter(pk=run_uuid).first() if run_uuid else None


def filter_runs(
    runs: QuerySet[AgentRun],
    *,
    agent_id: str = "",
    user_id: str = "",
    status: str = "",
    strict: bool,
) -> QuerySet[AgentRun]:
    """Narrow runs by agent, user and status. `strict` (the API) refuses unknown values;
    pages ignore them (their filters are select boxes)."""
    if status:
        if status in RunStatus.values:
            runs = runs.filter(status=status)
        elif strict:
            raise Invalid(f"Unknown status {status!r}.", code="invalid_status")
    if agent_id:
        agent_uuid = as_uuid(agent_id)
        if agent_uuid is not None:
            runs = runs.filter(agent_id=agent_uuid)
        elif strict:
            raise Invalid("agent_id is not a valid id.", code="invalid_agent_id")
    if user_id:
        if user_id.isdigit():
            runs = runs.filter(user_id=int(user_id))
        elif strict:
            raise Invalid("user_id is not a valid id.", code="invalid_user_id")
    return runs
