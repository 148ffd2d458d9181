"""The runs list's filters, for its page and the API."""

from __future__ import annotations

from agents.models import RunStatus
from core.filtering import IntegerFilter, ListFilter, choice_filter, id_filter


class RunFilter(ListFilter):
    agent_id = id_filter("agent_id", what="agent_id")
    user_id = IntegerFilter(
        field_name="user_id", error_messages={"invalid": "user_id is not a valid id."}
    )
    status = choice_filter(RunStatus.choices, what="status")
