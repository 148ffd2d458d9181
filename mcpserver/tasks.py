"""Background work of MCP access (Celery): expired OAuth tokens, unused registrations."""

from celery import shared_task
from oauth2_provider.models import clear_expired

from core.jobs import exclusive
from mcpserver import clients


def prune() -> dict[str, int]:
    clear_expired()  # django-oauth-toolkit: expired access/refresh tokens and grants
    return clients.prune_unused_clients()


@shared_task
def prune_mcp_clients() -> dict:
    return exclusive("prune_mcp_clients", prune)
