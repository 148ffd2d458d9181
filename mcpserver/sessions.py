"""Handshake-era MCP sessions (protocol 2025-06-18 / 2025-11-25), in the database: a
session exists only once `initialize` succeeded, belongs to the principal (organization,
identifier, client) that opened it, lapses after MCP_SESSION_IDLE_SECONDS without use, and
a principal has at most MCP_SESSIONS_PER_PRINCIPAL at once.

The SDK serves every request statelessly (mcpserver/asgi.py); the gate issues the
session id on `initialize`'s answer, checks it on every later request and ends it on
DELETE. Nothing about a session lives in a process, so any web process behind any load
balancer answers any request of it. Use is written at most once a minute per session.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from core import metrics
from mcpserver.models import McpSession
from portal.models import Organization

TOUCH_EVERY = timedelta(seconds=60)


def _idle_since():
    return timezone.now() - timedelta(seconds=settings.MCP_SESSION_IDLE_SECONDS)


def has_room(*, organization: Organization, principal: str) -> bool:
    live = McpSession.objects.for_org(organization).filter(
        principal=principal, last_seen_at__gte=_idle_since()
    )
    return live.count() < settings.MCP_SESSIONS_PER_PRINCIPAL


def open_session(*, organization: Organization, principal: str) -> str:
    metrics.mcp_session("handshake")
    session_id = secrets.token_hex(16)
    McpSession.objects.create(
        id=session_id,
        organization=organization,
        principal=principal,
        last_seen_at=timezone.now(),
    )
    return session_id


def use(*, organization: Organization, principal: str, session_id: str) -> bool:
    """Whether the session is live and the principal's; its use is noted."""
    found = (
        McpSession.objects.for_org(organization)
        .filter(id=session_id[:64], principal=principal, last_seen_at__gte=_idle_since())
        .first()
    )
    if found is None:
        return False
    now = timezone.now()
    if now - found.last_seen_at > TOUCH_EVERY:
        McpSession.objects.filter(pk=found.pk).update(last_seen_at=now)
    return True


def close(*, organization: Organization, principal: str, session_id: str) -> bool:
    deleted, _ = (
        McpSession.objects.for_org(organization)
        .filter(id=session_id[:64], principal=principal)
        .delete()
    )
    return bool(deleted)


def prune() -> int:
    deleted, _ = McpSession.objects.filter(last_seen_at__lt=_idle_since()).delete()
    return deleted
