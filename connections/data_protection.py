"""Setting an organization's data-loss protection (the detectors: connections/dlp.py)."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.http import HttpRequest

from audit import trail
from connections import dlp
from portal.callers import Caller
from portal.models import Organization


def settings_of(organization: Organization) -> dict[str, Any]:
    """Every detector with its actions (allow where none was set), custom ones included."""
    return dlp.clean_settings(organization.data_protection or {})


def set_settings(
    *, caller: Caller, value: Any, request: HttpRequest | None = None
) -> dict[str, Any]:
    caller.require_manager()
    cleaned = dlp.clean_settings(value)
    organization = caller.organization
    with transaction.atomic():
        Organization.objects.filter(pk=organization.pk).update(data_protection=cleaned)
        organization.data_protection = cleaned
        trail.record(
            action="data_protection.changed",
            organization=organization,
            caller=caller,
            request=request,
            target_type="organization",
            target_id=organization.slug,
            metadata={
                "detectors": cleaned["detectors"],
                "custom": sorted(cleaned["custom"]),
            },
        )
    return settings_of(organization)
