"""OAuth 2 client requests, built from the catalog entry alone: the authorization URL,
the code exchange, the refresh grant and revocation.

Every provider difference is a field of its entry (catalog.py): client
authentication (client_secret_post / client_secret_basic), body format (form /
JSON), the Accept header (GitHub answers form-encoded without it), where the
token sits in the answer (Slack: `authed_user`), values to keep (`instance_url`,
`team.id`), PKCE, the scope parameter and separator, the revoke call. Adding a
provider changes nothing here. Requests go through the one transport
(core/outbound.py), with the token endpoint's own generous timeout.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, quote

from authlib.oauth2.rfc7636 import create_s256_code_challenge

from connections.errors import ProviderRejected, ProviderUnavailable, ToolRateLimited
from connections.providers import http
from connections.providers.catalog import Provider, TemplateError, dig, render
from core import outbound
from core.urls import with_query

# OAuth errors that mean "this grant or client is no longer accepted" (RFC 6749 §5.2),
# plus the providers' own names for the same thing.
REJECTED_GRANT_ERRORS = frozenset(
    {
        "invalid_grant",
        "invalid_client",
        "unauthorized_client",
        "bad_verification_code",  # GitHub
        "incorrect_client_credentials",  # GitHub
        "invalid_code",  # Slack
        "invalid_refresh_token",  # Slack
        "token_revoked",  # Slack
        "token_expired",  # Slack
    }
)
ENDPOINTS = ("authorization_url", "token_url", "revoke_url", "api_base_url")


@dataclass(frozen=True)
class ConnectionConfig:
    """What the client needs of a Connection (kept apart so this module needs no model)."""

    provider: Provider
    client_id: str
    client_secret: str = field(repr=False)
    settings: Mapping[str, str]
    overrides: Mapping[str, str]  # endpoint overrides: self-hosted servers, emulators

    def values(self, kept: Mapping[str, str] | None = None) -> dict[str, str]:
        return {**self.settings, "client_id": self.client_id, **(kept or {})}

    def endpoint(self, name: str, kept: Mapping[str, str] | None = None) -> str:
        """An endpoint URL: the connection's override, else the catalog's template."""
        template = self.overrides.get(name) or self._catalog_template(name)
        return render(template, self.values(kept)) if template else ""

    def _catalog_template(self, name: str) -> str:
        spec = self.provider
        return {
            "authorization_url": spec.oauth.authorize_url,
            "token_url": spec.oauth.token_url,
            "revoke_url": spec.revoke.url if spec.revoke else "",
            "api_base_url": spec.api.base_url,
        }[name]


@dataclass(frozen=True)
class TokenResponse:
    """A token endpoint's answer, the user's token picked out of it."""

    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    token_type: str
    expires_in: int | None
    scopes: tuple[str, ...] | None  # None: the answer did not say
    kept: Mapping[str, str]
    raw: Mapping[str, Any] = field(repr=False)


def authorization_url(
    config: ConnectionConfig,
    *,
    state: str,
    redirect_uri: str,
    code_verifier: str | None,
    scopes: list[str],
) -> str:
    oauth = config.provider.oauth
    params: dict[str, str] = {
        "response_type": "code",
        "client_id": config.client_id,
        "redirect_uri": redirect_uri,
        "state": state,
    }
    if oauth.scope_param and scopes:
        params[oauth.scope_param] = oauth.scope_separator.join(scopes)
    if code_verifier:
        params["code_challenge"] = create_s256_code_challenge(code_verifier)
        params["code_challenge_method"] = "S256"
    params.update(oauth.authorize_params)
    return with_query(config.endpoint("authorization_url"), params)


def exchange_code(
    config: ConnectionConfig, *, code: str, redirect_uri: str, code_verifier: str | None
) -> TokenResponse:
    body = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
    if code_verifier:
        body["code_verifier"] = code_verifier
    return _token_request(config, body, what="code exchange")


def refresh(config: ConnectionConfig, *, refresh_token: str) -> TokenResponse:
    body = {"grant_type": "refresh_token", "refresh_token": refresh_token}
    return _token_request(config, body, what="refresh")


def _client_auth(config: ConnectionConfig, method: str, body: dict, headers: dict) -> None:
    if method == "client_secret_basic":
        # RFC 6749 §2.3.1: each part form-encoded, then Basic.
        basic_credentials = (
            f"{quote(config.client_id, safe='')}:{quote(config.client_secret, safe='')}"
        )
        headers["Authorization"] = "Basic " + base64.b64encode(basic_credentials.encode()).decode()
    else:
        body["client_id"] = config.client_id
        body["client_secret"] = config.client_secret


def _token_request(config: ConnectionConfig, body: dict[str, str], *, what: str) -> TokenResponse:
    provider = config.provider
    oauth = provider.oauth
    headers = {"Accept": oauth.token_accept}
    _client_auth(config, oauth.client_auth, body, headers)
    try:
        url = config.endpoint("token_url")
    except TemplateError as exc:
        raise ProviderUnavailable(f"{what}: {exc}") from None
    label = f"{provider.display_name} token endpoint"
    response = outbound.send(
        "POST",
        url,
        what=label,
        headers=headers,
        json_body=body if oauth.token_body == "json" else None,
        data=body if oauth.token_body == "form" else None,
        deadline=http.token_deadline(),
        max_bytes=1_000_000,
    )
    raw = _parse(response.content)
    error = _error_of(raw, response.status_code)
    if response.status_code == 429:
        # Rate limited: nothing was exchanged; the caller waits as long as the provider says.
        raise ToolRateLimited(
            f"{label} is rate limiting the portal; try again later.",
            retry_after=http.retry_after(response, provider),
        )
    if error or response.status_code >= 400:
        _raise_token_error(what, error, response.status_code, raw)
    token = _token_part(raw, oauth.token_path)
    if not isinstance(token.get("access_token"), str) or not token["access_token"]:
        raise ProviderUnavailable(f"{what}: the answer carried no access token.")
    return TokenResponse(
        access_token=token["access_token"],
        refresh_token=str(token.get("refresh_token") or ""),
        token_type=str(token.get("token_type") or "Bearer"),
        expires_in=_int(token.get("expires_in")),
        scopes=_scopes(token.get("scope"), oauth.scope_separator),
        kept={
            name: str(value)
            for name, path in oauth.keep.items()
            if (value := dig(raw, path)) not in (None, "")
        },
        raw=raw,
    )


def _parse(content: bytes) -> dict[str, Any]:
    """By the body, not the Content-Type (GitHub's is known to lie): JSON, else a form."""
    text = content.decode("utf-8", "replace").strip()
    try:
        value = json.loads(text)
    except ValueError:
        return dict(parse_qsl(text)) if "=" in text else {}
    return value if isinstance(value, dict) else {}


def _error_of(raw: Mapping[str, Any], status: int) -> str:
    """The OAuth error code, also when sent with HTTP 200 (GitHub; Slack's `ok: false`)."""
    error = raw.get("error")
    if isinstance(error, dict):  # some APIs nest {"error": {"code": ...}}
        error = error.get("code") or error.get("type")
    if raw.get("ok") is False and not error:
        error = "unknown_error"
    return str(error)[:64] if error else ""


def _raise_token_error(what: str, error: str, status: int, raw: Mapping[str, Any]) -> None:
    description = raw.get("error_description")
    message = f"{what}: {error or f'HTTP {status}'}" + (
        f" ({str(description)[:150]})" if isinstance(description, str) and description else ""
    )
    if error in REJECTED_GRANT_ERRORS or (not error and status in (400, 401, 403)):
        raise ProviderRejected(message[:255], code=error or f"http_{status}")
    raise ProviderUnavailable(message[:255])


def _token_part(raw: Mapping[str, Any], path: str) -> Mapping[str, Any]:
    """The user's token: under `path` when the answer nests it there (Slack's code
    exchange), else at the top (Slack's refresh answers at the top)."""
    nested = dig(raw, path) if path else None
    if isinstance(nested, Mapping) and nested.get("access_token"):
        return nested
    return raw


def _int(value: Any) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _scopes(value: Any, separator: str) -> tuple[str, ...] | None:
    if value is None:
        return None
    if isinstance(value, list):
        return tuple(sorted({str(v) for v in value if v}))
    text = str(value)
    for sep in {separator, ",", " "}:
        text = text.replace(sep, " ")
    return tuple(sorted(set(text.split())))


# --- Revocation --------------------------------------------------------------------------


def revoke(
    config: ConnectionConfig, *, tokens: Mapping[str, str], kept: Mapping[str, str]
) -> tuple[bool, str]:
    """Revoke at the provider, as its entry says; (True, "") or (False, why).

    Never raises: a failed revocation is reported and audited, never blocks the
    disconnect that asked for it.
    """
    spec = config.provider.revoke
    if spec is None:
        return False, "the provider has no revocation endpoint"
    token = tokens.get(spec.token) or tokens.get("refresh_token") or tokens.get("access_token")
    if not token:
        return False, "no token to revoke"
    try:
        url = config.endpoint("revoke_url", kept)
    except TemplateError as exc:
        return False, str(exc)
    body: dict[str, str] = {}
    if spec.token_param and spec.auth != "bearer":
        body[spec.token_param] = token
        if spec.token_param == "token":
            body["token_type_hint"] = (
                "refresh_token" if token == tokens.get("refresh_token") else "access_token"
            )
    headers = {"Accept": "application/json", **spec.headers}
    if spec.auth == "bearer":
        headers["Authorization"] = f"Bearer {token}"
    elif spec.auth in ("client_secret_post", "client_secret_basic"):
        _client_auth(config, spec.auth, body, headers)
    try:
        response = outbound.send(
            spec.method,
            url,
            what=f"{config.provider.display_name} revocation endpoint",
            headers=headers,
            json_body=body if spec.body == "json" and body else None,
            data=body if spec.body == "form" and body else None,
            deadline=http.token_deadline(),
            max_bytes=100_000,
        )
    except ProviderUnavailable as exc:
        return False, exc.message
    raw = _parse(response.content)
    if response.status_code >= 400 or raw.get("ok") is False:
        return False, f"HTTP {response.status_code}" + (
            f" ({_error_of(raw, response.status_code)})" if _error_of(raw, 0) else ""
        )
    return True, ""
