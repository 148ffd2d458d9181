"""Background work of MCP access (Celery): expired OAuth tokens, unused registrations,
lapsed sessions."""

from celery import shared_task
from oauth2_provider.models import clear_expired

from core.jobs import exclusive
from mcpserver import clients, sessions


def prune() -> dict[str, int]:
    clear_expired()  # django-oauth-toolkit: expired access/refresh tokens and grants
    return {**clients.prune_unused_clients(), "lapsed_sessions": sessions.prune()}


@shared_task
def prune_mcp_clients() -> dict:
    return exclusive("prune_mcp_clients", prune)
