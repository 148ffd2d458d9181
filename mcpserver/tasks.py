"""Background work of MCP access (Celery): expired OAuth tokens, unused registrations,
lapsed sessions, spent identity assertions."""

from celery import shared_task
from oauth2_provider.models import clear_expired

from core.jobs import exclusive
from identity import id_jag
from mcpserver import clients, sessions


def prune() -> dict[str, int]:
    clear_expired()  # django-oauth-toolkit: expired access/refresh tokens and grants
    return {
        **clients.prune_unused_clients(),
        "lapsed_sessions": sessions.prune(),
        "spent_assertions": id_jag.prune_spent(),
    }


@shared_task
def prune_mcp_clients() -> dict:
    return exclusive("prune_mcp_clients", prune)
