"""A short, stable fingerprint of structured data: what a person approved is compared
with what is about to run by this value (DESIGN §13 rule 24)."""

from __future__ import annotations

import hashlib
import json
from typing import Any


def fingerprint(*parts: Any) -> str:
    """SHA-256 of the parts as canonical JSON (sorted keys, no spaces), in hex."""
    canonical = json.dumps(list(parts), sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()
