"""What connections do when a member leaves an organization.

Decision (README "Removed members"): their connected accounts in that
organization are disconnected — revoked at the provider, tokens erased — not
suspended. A person who rejoins connects again; nobody can act as them
meanwhile (API keys are refused their identifier by portal.callers too).
"""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from audit import trail
from connections import accounts
from connections.models import AccountStatus, AuthorizationRequest, ConnectedAccount
from portal.callers import Caller
from portal.models import Organization, User
from portal.organizations import member_removed


@receiver(member_removed)
def disconnect_removed_member(
    sender: Any, organization: Organization, user: User, caller: Caller, **kwargs: Any
) -> None:
    actor = trail.Actor.of(caller)
    AuthorizationRequest.objects.for_org(organization).filter(
        identifier=user.identifier
    ).unfinished().fail("member_removed")
    held = (
        ConnectedAccount.objects.for_org(organization)
        .filter(identifier=user.identifier)
        .exclude(status=AccountStatus.DISCONNECTED, token_set_sealed="")
        .select_related("connection", "organization")
    )
    for account in held:
        accounts.disconnect(
            account=account, actor=actor, reason="Disconnected: the member left the organization"
        )
