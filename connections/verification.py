"""Customer verification: the backend of a company confirms which of its users finished
an authorization it started with a `user_verify_url` (DESIGN §4 flow 3); the held tokens
then activate the account."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.http import HttpRequest
from django.urls import reverse

from audit import trail
from audit.models import AuditEvent
from connections.authorization import portal_url
from connections.callback import activate, held_tokens
from connections.cleanup import expire_authorization
from connections.models import AuthorizationRequest, ConnectedAccount
from core.errors import Conflict, Forbidden, NotFound
from core.tenancy import as_uuid
from portal.callers import Caller
from portal.identifiers import is_portal_identifier, validate_identifier


def verify_authorization(
    *, caller: Caller, auth_request_id: Any, identifier: str, request: HttpRequest | None = None
) -> tuple[ConnectedAccount, str]:
    """The customer's backend confirms who finished the OAuth flow → ACTIVE."""
    org = caller.organization
    identifier = validate_identifier(identifier)
    auth_request = (
        AuthorizationRequest.objects.for_org(org)
        .select_related("connection", "organization")
        .filter(pk=as_uuid(auth_request_id))
        .first()
    )
    if auth_request is None:
        raise NotFound("No such authorization request.", code="auth_request_not_found")
    if auth_request.status != AuthorizationRequest.Status.AWAITING_VERIFICATION:
        raise Conflict(
            "This authorization request is not waiting for verification "
            f"(it is {auth_request.get_status_display().lower()}).",
            code="auth_request_not_pending",
        )
    if auth_request.is_expired:
        expire_authorization(auth_request)
        raise Conflict("This authorization request has expired.", code="auth_request_expired")
    if identifier != auth_request.identifier or is_portal_identifier(identifier):
        trail.record(
            action="oauth.verification_rejected",
            organization=org,
            caller=caller,
            request=request,
            identifier=identifier,
            target_type="authorization_request",
            target_id=auth_request.pk,
            outcome=AuditEvent.Outcome.DENIED,
            metadata={"reason": "identifier_mismatch"},
        )
        raise Forbidden(
            "The identifier does not match the one this authorization was started for.",
            code="identifier_mismatch",
        )
    with transaction.atomic():
        # Re-check under the lock so two verifications cannot both activate.
        locked = AuthorizationRequest.objects.select_for_update().get(pk=auth_request.pk)
        if locked.status != AuthorizationRequest.Status.AWAITING_VERIFICATION:
            raise Conflict(
                "This authorization request was already verified.", code="auth_request_not_pending"
            )
        response, identity = held_tokens(locked)
        account = activate(locked, response, identity, request=request)
    return account, portal_url(reverse("oauth_done"), request)
