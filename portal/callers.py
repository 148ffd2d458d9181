"""Who is calling: one `Caller`, built once when a request authenticates.

Pages get it from the organization middleware, the API from its authentication
classes, agent runs and MCP sessions build their own. Services take it as
`caller=` and ask it for the organization, the identifier the call acts as, and
the caller's rights; nothing below the view reads the request for that.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from core.errors import Forbidden, Invalid, NotFound
from portal.identifiers import is_portal_identifier, member_for_identifier, validate_identifier
from portal.models import MANAGER_ROLES, ApiKey, Membership, Organization, Role, User


@dataclass(frozen=True)
class Caller:
    organization: Organization
    user: User | None = None
    membership: Membership | None = None
    api_key: ApiKey | None = None
    # Whom the call acts as: a member's own identifier, or the one an API key named.
    identifier: str = ""
    # A system acting for the organization, e.g. "scim: Okta" (its identity provider
    # provisioning people): no member, no API key; admin rights over memberships.
    via: str = ""

    @classmethod
    def of_member(cls, membership: Membership) -> Caller:
        return cls(
            organization=membership.organization,
            user=membership.user,
            membership=membership,
            identifier=membership.user.identifier,
        )

    @classmethod
    def of_api_key(cls, api_key: ApiKey) -> Caller:
        return cls(organization=api_key.organization, api_key=api_key)

    @classmethod
    def of_system(cls, organization: Organization, via: str) -> Caller:
        return cls(organization=organization, via=via)

    @property
    def is_api_key(self) -> bool:
        return self.api_key is not None

    @property
    def test_mode(self) -> bool:
        """A test key (ap_test_…): sandbox connections only (README "Test your agents in CI")."""
        return self.api_key is not None and self.api_key.test_mode

    def check_may_use(self, connection: Any) -> None:
        """A test key never reaches a real provider."""
        if self.test_mode and not connection.sandbox:
            raise Forbidden(
                f"A test key uses sandbox connections only; {connection.name!r} is a real one.",
                code="test_key_live_connection",
            )

    @property
    def role(self) -> str:
        """API keys act with admin rights (README "Decisions")."""
        if self.api_key is not None or self.via:
            return Role.ADMIN
        return self.membership.role if self.membership is not None else ""

    @property
    def can_manage(self) -> bool:
        return self.role in MANAGER_ROLES

    @property
    def can_read_audit(self) -> bool:
        return self.role in MANAGER_ROLES | {Role.AUDITOR}

    def acting_as(self, requested: str | None) -> Caller:
        """The identifier rule (DESIGN §1): API keys name the identifier they act for;
        signed-in people always act as themselves and may not name one."""
        if self.api_key is None:
            if requested is not None and requested != self.identifier:
                raise Forbidden(
                    "Signed-in users act as themselves; do not send an identifier.",
                    code="identifier_not_allowed",
                )
            return self
        if not requested:
            raise Invalid("identifier is required with an API key.", code="identifier_required")
        identifier = validate_identifier(requested)
        if (
            is_portal_identifier(identifier)
            and member_for_identifier(self.organization, identifier) is None
        ):
            # A removed member (or a stranger's id): nothing may act as them here.
            raise NotFound(
                "No member of this organization has that identifier.",
                code="identifier_not_member",
            )
        return replace(self, identifier=identifier)

    def require_manager(self) -> None:
        if not self.can_manage:
            raise Forbidden("Only owners and admins can do this.")
