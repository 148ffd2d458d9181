"""Reads: an organization's members, invitations and API keys."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from portal.models import ApiKey, ApiKeyQuerySet, Invitation, InvitationQuerySet, Membership


def members_of(*, organization: Any) -> QuerySet[Membership]:
    return Membership.objects.for_org(organization).select_related("user").order_by("user__email")


def pending_invitations(*, organization: Any) -> InvitationQuerySet:
    return Invitation.objects.for_org(organization).pending().select_related("invited_by")


def api_keys_of(*, organization: Any) -> ApiKeyQuerySet:
    return ApiKey.objects.for_org(organization).select_related("created_by")
