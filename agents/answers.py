"""What one tool call of an agent run gave back, as the runner records it: the
`role: tool` message for the model and the step's outcome; and the answers of the tools
the portal itself answers (discovery, stored results)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from agents.models import AgentRun, AgentStep
from connections import discovery, results
from connections.tools import AvailableTool


@dataclass(frozen=True)
class Answer:
    """What one tool call gave back: data for the model, or an error (code and message),
    and what its step records."""

    data: Any = None
    error_code: str = ""
    error_message: str = ""
    outcome: str = ""  # the step's outcome; by default OK, or ERROR for an error
    execution_id: str = ""
    latency: float = 0.0

    @classmethod
    def refused(cls, code: str, message: str, **fields: Any) -> Answer:
        return cls(error_code=code, error_message=message, **fields)

    @property
    def step_outcome(self) -> str:
        if self.outcome:
            return self.outcome
        return AgentStep.Outcome.ERROR if self.error_code else AgentStep.Outcome.OK

    def content(self) -> str:
        """The `role: tool` message's content."""
        if self.error_code:
            return json.dumps({"error": {"code": self.error_code, "message": self.error_message}})
        # Whole: a result above the agent's limit is cut by connections/results.py.
        return json.dumps(self.data, default=str)


def meta_tool_answer(
    name: str,
    arguments: dict[str, Any],
    *,
    available: dict[str, AvailableTool],
    run: AgentRun,
    result_limit: int,
) -> Answer:
    """search_tools, describe_tool and read_result: answered from the run's own tools, no
    provider call (call_tool never reaches here: it was unwrapped into the tool it names)."""
    if name == discovery.SEARCH:
        return Answer(
            data=discovery.search(available, arguments.get("query"), arguments.get("limit", 5))
        )
    if name == results.READ_RESULT:
        found = results.read(
            organization=run.organization,
            identifier=run.identifier,
            handle=arguments.get("handle"),
            offset=arguments.get("offset", 0),
            length=result_limit,
        )
        if found is not None:
            return Answer(data=found)
        return Answer.refused("result_not_found", "No result of this run has that handle.")
    if name == discovery.DESCRIBE:
        found = discovery.describe(available, arguments.get("name"))
        if found is not None:
            return Answer(data=found)
        return Answer.refused("tool_not_available", "No tool of yours has that name.")
    return Answer.refused("invalid_arguments", "call_tool needs a name and JSON arguments.")
