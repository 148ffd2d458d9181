"""The JWT bearer grant (RFC 7523) carrying an Identity Assertion JWT Authorization Grant
(ID-JAG): enterprise-managed agent access. The one grant type beyond "code and refresh"
(DESIGN §13 rule 25), and it issues only for organizations that trust the assertion's
identity provider (identity/trust.py).

The client authenticates as at any token request (a confidential client with its secret;
a public one by its id, which the assertion must name). The assertion is checked by
identity/id_jag.py; then the organization's MCP policy must let the client in. The
access token is issued for this portal's /mcp only (RFC 8707), with the assertion's
scopes narrowed to what the portal knows, bound to a grant in the issuer's organization
(`McpConnection`, how "id_jag") like a consented one — revoked with it, with the
member's removal, audited — and **no refresh token**: each new access token needs a
fresh assertion, so the identity provider stays the one deciding.
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from oauthlib.oauth2.rfc6749 import errors
from oauthlib.oauth2.rfc6749.grant_types.base import GrantTypeBase

from audit import trail
from identity import id_jag
from mcpserver.models import McpPolicy

JWT_BEARER = id_jag.JWT_BEARER


class IdentityAssertionGrant(GrantTypeBase):
    def create_token_response(self, request: Any, token_handler: Any) -> tuple[dict, str, int]:
        headers = self._get_default_headers()
        try:
            self.validate_token_request(request)
        except errors.OAuth2Error as exc:
            headers.update(exc.headers)
            return headers, exc.json, exc.status_code
        token = token_handler.create_token(request, refresh_token=False)
        for modifier in self._token_modifiers:
            token = modifier(token, token_handler, request)
        self.request_validator.save_token(token, request)
        return headers, json.dumps(token), 200

    def validate_token_request(self, request: Any) -> None:
        if request.grant_type != JWT_BEARER:
            raise errors.UnsupportedGrantTypeError(request=request)
        if not request.assertion:
            raise errors.InvalidRequestError("Send the ID-JAG as `assertion`.", request=request)
        if self.request_validator.client_authentication_required(request):
            if not self.request_validator.authenticate_client(request):
                raise errors.InvalidClientError(request=request)
        elif not self.request_validator.authenticate_client_id(request.client_id, request):
            raise errors.InvalidClientError(request=request)
        client_id = request.client.client_id
        try:
            assertion = id_jag.verify(request.assertion, client_id=client_id)
        except id_jag.AssertionRefused as refused:
            _audit_refusal(refused, client_id)
            raise errors.InvalidGrantError(refused.message, request=request) from None
        organization = assertion.membership.organization
        policy = McpPolicy.objects.for_org(organization).first()
        if policy is not None and not policy.allows(client_id):
            closed = id_jag.AssertionRefused(
                "This organization does not let this app connect.", organization
            )
            _audit_refusal(closed, client_id)
            raise errors.InvalidGrantError(closed.message, request=request)
        scopes = sorted(assertion.scopes & set(settings.MCP_SCOPES))
        if not scopes:
            raise errors.InvalidScopeError(request=request)
        request.user = assertion.membership.user
        request.scopes = scopes
        request.resource = [settings.MCP_RESOURCE_URL]
        request.id_jag = assertion


def _audit_refusal(refused: id_jag.AssertionRefused, client_id: str) -> None:
    if refused.organization is None:
        return  # no organization to tell (an untrusted issuer, a malformed assertion)
    trail.record(
        action="mcp.assertion_refused",
        organization=refused.organization,
        actor=trail.Actor.system("MCP authorization server"),
        target_type="mcp_client",
        target_id=client_id[:255],
        outcome="denied",
        metadata={"reason": refused.message},
    )
