"""Tenancy by construction.

Every organization-owned model inherits `OrgOwned`; its default manager only
offers rows through `for_org(org)`. Views, serializers and commands reach
tenant data through that one method, so a foreign object simply does not
exist for the caller (404), as healthchecks.io does with its per-project sets.
"""

from __future__ import annotations

import uuid
from typing import Any, Protocol, Self

from django.db import models


class OrgQuerySet(models.QuerySet):
    def for_org(self, org: Any) -> Self:
        """The rows of this organization (a portal.Organization), none for None."""
        if org is None:
            return self.none()
        return self.filter(organization=org)


class OrgOwned(models.Model):
    organization = models.ForeignKey("portal.Organization", on_delete=models.CASCADE)

    objects = OrgQuerySet.as_manager()

    class Meta:
        abstract = True


def as_uuid(value: Any) -> uuid.UUID | None:
    """The UUID a path or form value names, or None (then: "no such object", never a 500)."""
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except ValueError:
        return None


class CallerLike(Protocol):
    """What the apps below portal (audit) may ask of a portal.callers.Caller, which they
    cannot import (the dependency order, DESIGN §2)."""

    @property
    def organization(self) -> Any: ...

    @property
    def user(self) -> Any: ...

    @property
    def api_key(self) -> Any: ...

    @property
    def identifier(self) -> str: ...

    @property
    def via(self) -> str: ...

    @property
    def role(self) -> str: ...

    @property
    def can_read_audit(self) -> bool: ...
