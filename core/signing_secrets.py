"""The Standard Webhooks signing secret format, for every signed request the portal sends
(webhook endpoints, the organization's policy hook)."""

from __future__ import annotations

import base64
import secrets


def new_signing_secret() -> str:
    """`whsec_` + base64 of 24 random bytes: the Standard Webhooks secret format."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()
