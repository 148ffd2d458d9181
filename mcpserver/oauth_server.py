"""The OAuth 2.1 authorization server's own rules, in django-oauth-toolkit's two hooks:
the oauthlib server (which grants exist at all) and the request validator (how codes and
tokens are kept and to what they are bound).

* **Only what is advertised is issued** (DESIGN §13 rule 25). The server is built with
  handlers for exactly the grant types of OAUTH2_GRANT_TYPES_SUPPORTED (the metadata's
  `grant_types_supported`): authorization_code and refresh_token, and the JWT bearer
  grant carrying an ID-JAG (issued only for organizations that trust the assertion's
  identity provider: mcpserver/assertion_grant.py). There is no password,
  client_credentials, implicit or device grant to reach, whatever a client registered
  or sends; the token view refuses other grant types before any credential is read.
* **Every grant is bound to one organization when it is issued** (rule 23). The consent
  page records the grant (mcpserver/grants.py) and puts its id on the authorization code;
  the exchange binds the new token family to that grant, and every refresh stays in the
  family. Nothing looks the organization up later from the person and the client.
* **Codes are kept as hashes**, and a replayed code revokes the tokens issued from its
  first use (RFC 6749 §4.1.2).
"""

from __future__ import annotations

import hashlib
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from oauth2_provider.oauth2_validators import OAuth2Validator
from oauthlib.oauth2 import (
    AuthorizationEndpoint,
    BearerToken,
    ResourceEndpoint,
    RevocationEndpoint,
    TokenEndpoint,
)
from oauthlib.oauth2.rfc6749.grant_types import AuthorizationCodeGrant, RefreshTokenGrant

from mcpserver import grants
from mcpserver.assertion_grant import JWT_BEARER, IdentityAssertionGrant
from mcpserver.clients import supported_grant_types

GRANT_HANDLERS = {
    "authorization_code": AuthorizationCodeGrant,
    "refresh_token": RefreshTokenGrant,
    # Enterprise-managed access (ID-JAG), for organizations that trust an identity
    # provider only (mcpserver/assertion_grant.py).
    JWT_BEARER: IdentityAssertionGrant,
}


def code_key(code: str) -> str:
    """What is stored of an authorization code: its SHA-256."""
    return hashlib.sha256(code.encode()).hexdigest()


class PortalServer(AuthorizationEndpoint, TokenEndpoint, ResourceEndpoint, RevocationEndpoint):
    """oauthlib's endpoints with a grant handler for each advertised grant type, and no
    other (oauthlib's all-in-one `Server` would also carry password, client credentials,
    implicit and device grants)."""

    def __init__(
        self,
        request_validator: OAuth2Validator,
        token_expires_in: Any = None,
        token_generator: Any = None,
        refresh_token_generator: Any = None,
        **ignored: Any,
    ) -> None:
        unknown = supported_grant_types() - set(GRANT_HANDLERS)
        if unknown:
            raise ImproperlyConfigured(f"No handler for advertised grant types {sorted(unknown)}")
        handlers = {
            name: GRANT_HANDLERS[name](request_validator) for name in supported_grant_types()
        }
        bearer = BearerToken(
            request_validator, token_generator, token_expires_in, refresh_token_generator
        )
        code = handlers["authorization_code"]
        AuthorizationEndpoint.__init__(
            self,
            default_response_type="code",
            response_types={"code": code},
            default_token_type=bearer,
        )
        TokenEndpoint.__init__(
            self,
            default_grant_type="authorization_code",
            grant_types=handlers,
            default_token_type=bearer,
        )
        ResourceEndpoint.__init__(self, default_token="Bearer", token_types={"Bearer": bearer})
        RevocationEndpoint.__init__(self, request_validator)


class PortalValidator(OAuth2Validator):
    """django-oauth-toolkit's validator, with hashed codes and grants bound at issue time."""

    def validate_grant_type(
        self, client_id: str, grant_type: str, client: Any, request: Any, *args: Any, **kwargs: Any
    ) -> bool:
        return grant_type in supported_grant_types() and super().validate_grant_type(
            client_id, grant_type, client, request, *args, **kwargs
        )

    # --- Codes, stored as hashes --------------------------------------------------------

    def _create_authorization_code(self, request: Any, code: dict, expires: Any = None) -> Any:
        return super()._create_authorization_code(
            request, {**code, "code": code_key(code["code"])}, expires
        )

    def validate_code(
        self, client_id: str, code: str, client: Any, request: Any, *args: Any, **kwargs: Any
    ) -> bool:
        if super().validate_code(client_id, code_key(code), client, request, *args, **kwargs):
            return True
        grants.revoke_replayed_code(code_key(code))
        return False

    def confirm_redirect_uri(
        self,
        client_id: str,
        code: str,
        redirect_uri: str,
        client: Any,
        *args: Any,
        **kwargs: Any,
    ) -> bool:
        return super().confirm_redirect_uri(
            client_id, code_key(code), redirect_uri, client, *args, **kwargs
        )

    def invalidate_authorization_code(
        self, client_id: str, code: str, request: Any, *args: Any, **kwargs: Any
    ) -> None:
        super().invalidate_authorization_code(client_id, code_key(code), request, *args, **kwargs)

    def get_code_challenge(self, code: str, request: Any) -> Any:
        return super().get_code_challenge(code_key(code), request)

    def get_code_challenge_method(self, code: str, request: Any) -> Any:
        return super().get_code_challenge_method(code_key(code), request)

    def get_authorization_code_scopes(
        self, client_id: str, code: str, redirect_uri: str, request: Any
    ) -> list[str]:
        return super().get_authorization_code_scopes(
            client_id, code_key(code), redirect_uri, request
        )

    def get_authorization_code_nonce(
        self, client_id: str, code: str, redirect_uri: str, request: Any
    ) -> Any:
        return super().get_authorization_code_nonce(
            client_id, code_key(code), redirect_uri, request
        )

    # --- Tokens, bound to their grant -----------------------------------------------------

    def _save_bearer_token(self, token: dict, request: Any, *args: Any, **kwargs: Any) -> None:
        # Read before the parent rotates it away: the family a refresh continues.
        previous = getattr(request, "refresh_token_instance", None)
        if request.grant_type == "refresh_token":
            grants.check_refresh(family=getattr(previous, "token_family", None), request=request)
        super()._save_bearer_token(token, request, *args, **kwargs)
        if request.grant_type == JWT_BEARER:
            grants.bind_assertion_token(
                assertion=request.id_jag,
                application=request.client,
                access_token=token["access_token"],
                scopes=request.scopes,
            )
        if request.grant_type == "authorization_code":
            grants.bind_new_tokens(
                claims=getattr(request, "claims", None) or {},
                refresh_token=token.get("refresh_token", ""),
                code_hash=code_key(request.code),
                request=request,
            )
