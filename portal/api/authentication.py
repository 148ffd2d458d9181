"""API authentication: `Authorization: Bearer ap_…` keys, and browser sessions (CSRF enforced)."""

from __future__ import annotations

from rest_framework import authentication, exceptions
from rest_framework.request import Request

from portal.apikeys import InvalidApiKey, authenticate_api_key
from portal.callers import Caller
from portal.requests import attach


class ApiKeyCaller:
    """The `request.user` of an API-key request: a company's backend, not a person."""

    is_authenticated = True
    is_anonymous = False
    pk = None
    email = ""

    def __init__(self, api_key) -> None:
        self.api_key = api_key

    def __str__(self) -> str:
        return f"API key {self.api_key.prefix}"


class ApiKeyAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request: Request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        scheme, _, raw_key = header.partition(" ")
        if scheme.lower() != self.keyword.lower() or not raw_key.strip():
            raise exceptions.AuthenticationFailed(
                "Send the API key as `Authorization: Bearer ap_<prefix>_<secret>`."
            )
        try:
            key = authenticate_api_key(raw_key.strip())
        except InvalidApiKey as exc:
            raise exceptions.AuthenticationFailed(str(exc)) from None
        # The request's Caller (portal/callers.py): the key's organization, admin rights.
        attach(request._request, Caller.of_api_key(key))
        return ApiKeyCaller(key), key

    def authenticate_header(self, request: Request) -> str:
        return f'{self.keyword} realm="api"'


class SessionAuthentication(authentication.SessionAuthentication):
    """A signed-in browser acts in its current organization (its Caller attached by
    OrganizationMiddleware)."""
