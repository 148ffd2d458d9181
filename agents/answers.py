"""What one tool call of an agent run gave back, as the runner records it: the
`role: tool` message for the model and the step's outcome."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from agents.models import AgentStep


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
