"""Identifiers: the stable names connected accounts and runs act as.

A portal user's identifier is derived on the server (`user_<32 lowercase hex>`,
`User.identifier`). That exact shape is reserved: only the signed-in user it
names may bind accounts to it (DESIGN §12 rule 18), whatever their membership
today. Any other printable string is a company backend's own identifier.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from core.errors import Invalid

PORTAL_IDENTIFIER = re.compile(r"^user_([0-9a-f]{32})$")


def validate_identifier(identifier: Any) -> str:
    if not isinstance(identifier, str) or not 1 <= len(identifier) <= 255:
        raise Invalid(
            "An identifier is a string of 1 to 255 characters.", code="invalid_identifier"
        )
    if not identifier.isprintable() or not _encodable(identifier):
        raise Invalid(
            "An identifier may only contain printable characters.", code="invalid_identifier"
        )
    return identifier


def _encodable(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:  # lone surrogates
        return False
    return True


def is_portal_identifier(identifier: str) -> bool:
    """True for the reserved shape of portal users' identifiers."""
    return PORTAL_IDENTIFIER.match(identifier) is not None


def portal_user_uuid(identifier: str) -> uuid.UUID | None:
    match = PORTAL_IDENTIFIER.match(identifier)
    return uuid.UUID(hex=match.group(1)) if match else None


def member_for_identifier(org, identifier: str):
    """The member of `org` whose identifier this is, else None."""
    from portal.models import Membership

    user_uuid = portal_user_uuid(identifier)
    if user_uuid is None or org is None:
        return None
    membership = (
        Membership.objects.for_org(org).select_related("user").filter(user__uuid=user_uuid).first()
    )
    return membership.user if membership else None
