"""`manage.py check --deploy`: an owner's word must not verify email domains in
production — a verified domain lets the organization's identity provider sign in every
account of that domain (identity/sso.py), so only DNS may prove it there."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Tags, Warning, register


@register(Tags.security, deploy=True)
def domain_confirmation_off_in_production(app_configs: Any, **kwargs: Any) -> list[Warning]:
    if settings.DOMAIN_ADMIN_CONFIRM and not settings.DEBUG:
        return [
            Warning(
                "DOMAIN_ADMIN_CONFIRM is on with DEBUG off: owners can verify any email "
                "domain without DNS, and so sign in its accounts through their identity "
                "provider.",
                hint="Unset DOMAIN_ADMIN_CONFIRM in production.",
                id="identity.W001",
            )
        ]
    return []
