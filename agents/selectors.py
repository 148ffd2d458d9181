"""Reads: which runs a caller sees (their filters: filters.py)."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from agents.models import Agent, AgentRun
from core.tenancy import as_uuid
from portal.callers import Caller


def runs_visible_to(*, caller: Caller) -> QuerySet[AgentRun]:
    """Runs a caller may see: all of the org for keys and admins; for members, the runs
    they started or that ran as their identifier (e.g. started by their company's backend)."""
    runs = AgentRun.objects.for_org(caller.organization).select_related("agent", "user")
    if caller.api_key is not None or caller.can_manage:
        return runs
    if caller.user is None:
        return runs.none()
    return runs.filter(Q(user=caller.user) | Q(identifier=caller.user.identifier))


def find_run(*, caller: Caller, run_id: Any) -> AgentRun | None:
    """One run the caller sees (with its steps), else None."""
    run_uuid = as_uuid(run_id)
    if run_uuid is None:
        return None
    return runs_visible_to(caller=caller).prefetch_related("steps").filter(pk=run_uuid).first()


def agents_of(*, organization: Any) -> QuerySet[Agent]:
    return Agent.objects.for_org(organization)
