"""Audit of clients that register themselves (RFC 7591, or a metadata document): they
belong to no organization yet, so the event goes to the installation's global chain."""

from __future__ import annotations

from django.db.models.signals import post_save
from django.dispatch import receiver
from oauth2_provider.models import Application

from audit import trail
from mcpserver.clients import redirect_host


@receiver(post_save, sender=Application, dispatch_uid="mcp_client_registered")
def client_registered(sender, instance: Application, created: bool, **kwargs) -> None:
    if not created or instance.registration_source == Application.RegistrationSource.MANUAL:
        return  # admin registrations are audited in their organization (clients.py)
    trail.record(
        action="mcp.client_registered",
        organization=None,
        actor=trail.Actor.system("MCP client registration"),
        target_type="mcp_client",
        target_id=instance.client_id[:255],
        metadata={
            "name": instance.name,
            "how": instance.registration_source,
            "redirect_host": redirect_host(instance),
        },
    )
