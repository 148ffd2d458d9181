"""Error reports that never print a secret (DEBUG pages, emails to ADMINS).

Django cleanses only settings and functions marked @sensitive_variables; a
failing tool call's frames hold the user's access token in plain locals. This
filter cleanses every frame's variables by name (and inside dicts, lists and
tuples by their keys), and the objects that carry secrets (ToolContext, token
responses, connection configs) keep them out of their repr.
"""

from __future__ import annotations

import re
from typing import Any

from django.http import HttpRequest
from django.views.debug import SafeExceptionReporterFilter


class SecretsFilter(SafeExceptionReporterFilter):
    hidden_settings = re.compile(
        r"API|TOKEN|KEY|SECRET|PASS|SIGNATURE|AUTH|COOKIE|CREDENTIAL|VERIFIER|SEALED|"
        r"SESSION|BEARER|^CODE$|PRIVATE",
        flags=re.IGNORECASE,
    )

    def get_traceback_frame_variables(self, request: HttpRequest, tb_frame: Any) -> Any:
        variables = super().get_traceback_frame_variables(request, tb_frame)
        return [(name, self.cleanse_setting(name, value)) for name, value in variables]
