"""Regular expressions an organization's admins write (policy rule conditions, custom
data-protection detectors) run on RE2 (google-re2): matching takes linear time, so no
pattern — `(a+)+$` against a long tool result — can stall a worker that serves every
tenant, as catastrophic backtracking in Python's `re` would. RE2 has no look-arounds or
back-references; a pattern using them is refused when it is saved."""

from __future__ import annotations

from typing import Any

import re2

from core.errors import Invalid

MAX_PATTERN = 200


def pattern_options() -> Any:
    options = re2.Options()
    options.log_errors = False  # a refused pattern is the admin's answer, not a log line
    return options


def compile_pattern(text: Any, *, code: str, what: str = "The pattern") -> Any:
    """The compiled pattern, or Invalid(`code`) saying why it cannot be used."""
    if not isinstance(text, str) or not text or len(text) > MAX_PATTERN:
        raise Invalid(f"{what} is a regex of {MAX_PATTERN} characters at most.", code=code)
    try:
        return re2.compile(text, pattern_options())
    except re2.error as exc:
        reason = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else exc
        raise Invalid(
            f"{what} is not one this portal runs ({reason}); regexes use RE2 syntax, "
            "without look-arounds or back-references.",
            code=code,
        ) from None
