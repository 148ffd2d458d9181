"""Where the sandbox (the `sandbox` app) answers, named here so the apps below it can point
at it without importing it: a reserved host served in-process (core/egress.py's local
services), its provider worlds and its model."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from django.conf import settings

HOST = "sandbox.agent-portal.invalid"
ORIGIN = f"https://{HOST}"
MODEL_NAME = "sandbox-model"


def world_origin(world_id: Any) -> str:
    """A world answers at a host of its own, so provider paths stay exactly the real ones
    (entries that derive URLs from the API's origin keep working)."""
    return f"https://w-{world_id}.{HOST}"


def model_base_url(organization_id: Any) -> str:
    return f"{ORIGIN}/model/{organization_id}/v1"


def model_key(organization_id: Any) -> str:
    """The bearer key of an organization's sandbox model: derived, never stored, so only
    this organization's agents hold it and no one can reach another's scripts."""
    secret = hashlib.sha256(b"agent-portal sandbox model\x00" + settings.SECRET_KEY.encode())
    digest = hmac.new(secret.digest(), str(organization_id).encode(), hashlib.sha256)
    return "sbm_" + digest.hexdigest()[:40]
