"""What MCP access does when clients register and when a member leaves.

* Clients that register themselves (RFC 7591, or a metadata document) belong to no
  organization yet, so their event goes to the installation's global chain.
* Every client row, whichever path writes it, is checked against the one client rule
  before it is stored (mcpserver/clients.py): a path that skipped the check fails closed.
* A removed member's MCP grants in that organization are revoked with their tokens, and
  their pending approvals declined (DESIGN §13 rule 28), as connections disconnects
  their accounts and agents ends their runs.
"""

from __future__ import annotations

from django.db.models.signals import post_save, pre_save
from django.dispatch import receiver
from oauth2_provider.models import Application

from audit import trail
from mcpserver import grants
from mcpserver.clients import check_application, redirect_host
from portal.organizations import member_removed


@receiver(pre_save, sender=Application, dispatch_uid="mcp_client_checked")
def client_checked(sender, instance: Application, **kwargs) -> None:
    check_application(instance)


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


@receiver(member_removed, dispatch_uid="mcp_grants_of_removed_member")
def revoke_removed_members_grants(sender, organization, user, caller, **kwargs) -> None:
    grants.revoke_member_grants(organization=organization, user=user, caller=caller)
