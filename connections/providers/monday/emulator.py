"""A monday.com emulator: a real HTTP server on 127.0.0.1 for tests and benchmarks.

OAuth 2.1 (monday's oauth_ms endpoints, https://developer.monday.com/apps/docs/oauth):
  GET  /oauth2/authorize          client + exact redirect URI, PKCE S256 required,
                                  302 straight back with ?code&state (no consent screen)
  POST /oauth_ms/oauth/token      authorization_code (checks redirect URI + code_verifier)
                                  and refresh_token (rotating: the old refresh token dies;
                                  re-use of a dead one → invalid_grant and the whole token
                                  family is revoked)
  POST /oauth_ms/oauth/revoke     revokes the token's family
Access tokens are JWT-shaped (exp claim), so clients can read their expiry.

Controls (all thread-safe): add_client, add_user, login_as (or ?emu_user= on authorize),
deny_next_authorization, fail_next_token_requests(n, status), fail_next_revocations(n),
token_delay,
access_token_ttl, omit_expires_in, omit_refresh_token_on_refresh, revoke_all_for_user,
expire_access_token.
Counters: refresh_count, token_requests, revocations, request_log, issued_secrets().

The GraphQL API (/v2) lives in `MondayApi` below (tests/fakes/monday_api.py adds it).
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from connections.providers.emulation.server import LocalServer


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass(eq=False)
class Grant:
    """One authorization (a token family): its tokens die together on revocation."""

    client_id: str
    user_id: int
    scopes: list[str]
    revoked: bool = False
    live_refresh_token: str = ""
    used_refresh_tokens: set[str] = field(default_factory=set)


@dataclass
class AccessToken:
    grant: Grant
    expires_at: float
    revoked: bool = False

    @property
    def valid(self) -> bool:
        return not self.revoked and not self.grant.revoked and time.time() < self.expires_at


class MondayEmulator(LocalServer):
    def __init__(self) -> None:
        super().__init__()
        self.lock = threading.RLock()
        self.clients: dict[str, tuple[str, list[str]]] = {}
        self.users: dict[int, dict[str, Any]] = {}
        self.default_user: int | None = None
        self.codes: dict[str, dict[str, Any]] = {}
        self.access_tokens: dict[str, AccessToken] = {}
        self.refresh_tokens: dict[str, Grant] = {}
        self.access_token_ttl = 3600
        self.omit_expires_in = False
        self.omit_refresh_token_on_refresh = False
        self.token_delay = 0.0
        self.api_delay = 0.0
        self._deny_next = False
        self._token_failures: list[int] = []
        self._revoke_failures: list[int] = []
        self.refresh_count = 0
        self.token_requests: list[dict[str, Any]] = []
        self.revocations: list[str] = []
        self.request_log: list[dict[str, Any]] = []
        self._issued: list[str] = []
        self.api = None  # set by connections.providers.monday.emulator_api when the GraphQL API is attached

    @property
    def base_url(self) -> str:
        return self.origin

    # --- controls ------------------------------------------------------------------------
    def add_client(self, client_id: str, client_secret: str, redirect_uris: list[str]) -> None:
        self.clients[client_id] = (client_secret, list(redirect_uris))

    def add_user(self, user_id: int, name: str, email: str, account_id: int = 1) -> dict:
        user = {"id": user_id, "name": name, "email": email, "account_id": account_id}
        self.users[user_id] = user
        return user

    def login_as(self, user_id: int) -> None:
        self.default_user = user_id

    def deny_next_authorization(self) -> None:
        self._deny_next = True

    def fail_next_token_requests(self, n: int, status: int = 503) -> None:
        with self.lock:
            self._token_failures.extend([status] * n)

    def fail_next_revocations(self, n: int, status: int = 500) -> None:
        with self.lock:
            self._revoke_failures.extend([status] * n)

    def revoke_all_for_user(self, user_id: int) -> None:
        with self.lock:
            for grant in self._grants():
                if grant.user_id == user_id:
                    grant.revoked = True

    def expire_access_token(self, token: str) -> None:
        with self.lock:
            self.access_tokens[token].expires_at = 0

    def issued_secrets(self) -> list[str]:
        with self.lock:
            return list(self._issued)

    def _grants(self) -> set[Grant]:
        grants = {t.grant for t in self.access_tokens.values()}
        return grants | set(self.refresh_tokens.values())

    def user_of_token(self, raw: str) -> tuple[int, list[str]] | None:
        """(user id, scopes) of a valid access token, else None."""
        with self.lock:
            token = self.access_tokens.get(raw)
            if token is None or not token.valid:
                return None
            return token.grant.user_id, token.grant.scopes

    # --- HTTP ----------------------------------------------------------------------------
    def _dispatch(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        parts = urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        with self.lock:
            self.request_log.append(
                {
                    "method": method,
                    "path": parts.path,
                    "headers": dict(handler.headers),
                    "body": body.decode(errors="replace"),
                }
            )
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        routes = {
            ("GET", "/oauth2/authorize"): lambda: self._authorize(query),
            ("POST", "/oauth_ms/oauth/token"): lambda: self._token(handler, body),
            ("POST", "/oauth_ms/oauth/revoke"): lambda: self._revoke(handler, body),
        }
        route = routes.get((method, parts.path))
        if route is None and self.api is not None and parts.path == "/v2" and method == "POST":
            route = lambda: self.api.handle(handler, body)  # noqa: E731
        status, headers, payload = route() if route else (404, {}, {"error": "not found"})
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        handler.send_response(status)
        headers.setdefault("Content-Type", "application/json")
        for name, value in headers.items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    def _authorize(self, q: dict[str, str]):
        client = self.clients.get(q.get("client_id", ""))
        redirect_uri = q.get("redirect_uri", "")
        if client is None or redirect_uri not in client[1]:
            return 400, {"Content-Type": "text/plain"}, b"invalid client or redirect_uri"
        back = {"state": q.get("state", "")}
        if self._deny_next:
            self._deny_next = False
            back["error"] = "access_denied"
        elif q.get("code_challenge_method") != "S256" or not q.get("code_challenge"):
            back["error"] = "invalid_request"
        else:
            code = "code-" + secrets.token_urlsafe(24)
            with self.lock:
                self.codes[code] = {
                    "client_id": q["client_id"],
                    "redirect_uri": redirect_uri,
                    "scopes": q.get("scope", "").split(),
                    "user_id": int(q.get("emu_user") or self.default_user or 0),
                    "challenge": q["code_challenge"],
                    "expires_at": time.time() + 600,
                }
                self._issued.append(code)
            back["code"] = code
        return 302, {"Location": f"{redirect_uri}?{urlencode(back)}"}, b""

    def _client_auth(self, handler: BaseHTTPRequestHandler, form: dict[str, str]) -> str | None:
        client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
        header = handler.headers.get("Authorization", "")
        if header.startswith("Basic "):
            client_id, _, secret = base64.b64decode(header[6:]).decode().partition(":")
        known = self.clients.get(client_id)
        return client_id if known and secrets.compare_digest(known[0], secret) else None

    def _token(self, handler: BaseHTTPRequestHandler, body: bytes):
        form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
        with self.lock:
            self.token_requests.append(
                {"grant_type": form.get("grant_type"), "client_id": form.get("client_id")}
            )
            failure = self._token_failures.pop(0) if self._token_failures else None
        if self.token_delay:
            time.sleep(self.token_delay)
        if failure:
            return failure, {"Content-Type": "text/html"}, b"<html>upstream error</html>"
        client_id = self._client_auth(handler, form)
        if client_id is None:
            return 401, {}, {"error": "invalid_client", "error_description": "bad client"}
        with self.lock:
            if form.get("grant_type") == "authorization_code":
                return self._exchange(client_id, form)
            if form.get("grant_type") == "refresh_token":
                return self._refresh(client_id, form)
        return 400, {}, {"error": "unsupported_grant_type"}

    def _exchange(self, client_id: str, form: dict[str, str]):
        code = self.codes.pop(form.get("code", ""), None)
        if code is None or code["client_id"] != client_id or code["expires_at"] < time.time():
            return 400, {}, {"error": "invalid_grant", "error_description": "bad code"}
        if form.get("redirect_uri") != code["redirect_uri"]:
            return 400, {}, {"error": "invalid_grant", "error_description": "redirect_uri"}
        challenge = _b64url(hashlib.sha256(form.get("code_verifier", "").encode()).digest())
        if challenge != code["challenge"]:
            return 400, {}, {"error": "invalid_grant", "error_description": "PKCE failed"}
        grant = Grant(client_id, code["user_id"], code["scopes"])
        return 200, {}, self._issue(grant, with_refresh=True)

    def _refresh(self, client_id: str, form: dict[str, str]):
        presented = form.get("refresh_token", "")
        grant = self.refresh_tokens.get(presented)
        if grant is None or grant.client_id != client_id or grant.revoked:
            return 400, {}, {"error": "invalid_grant", "error_description": "unknown token"}
        if presented in grant.used_refresh_tokens:
            grant.revoked = True  # reuse detected: revoke the whole family
            return 400, {}, {"error": "invalid_grant", "error_description": "token reused"}
        self.refresh_count += 1
        rotate = not self.omit_refresh_token_on_refresh
        if rotate:
            grant.used_refresh_tokens.add(presented)
        return 200, {}, self._issue(grant, with_refresh=rotate)

    def mint(self, user_id: int, scopes: list[str]) -> dict[str, Any]:
        """A token answer for a grant made outside the browser flow (test set-ups that
        need an account, not the flow that makes one)."""
        with self.lock:
            grant = Grant(next(iter(self.clients)), user_id, list(scopes))
            return self._issue(grant, with_refresh=True)

    def _issue(self, grant: Grant, *, with_refresh: bool) -> dict[str, Any]:
        exp = time.time() + self.access_token_ttl
        header = _b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
        claims = {"exp": int(exp), "uid": grant.user_id, "actid": 1, "scp": grant.scopes}
        claims["jti"] = secrets.token_hex(8)
        access = f"{header}.{_b64url(json.dumps(claims).encode())}.{secrets.token_urlsafe(24)}"
        self.access_tokens[access] = AccessToken(grant, exp)
        self._issued.append(access)
        response: dict[str, Any] = {
            "access_token": access,
            "token_type": "Bearer",
            "scope": " ".join(grant.scopes),
        }
        if not self.omit_expires_in:
            response["expires_in"] = self.access_token_ttl
        if with_refresh:
            refresh = "rt-" + secrets.token_urlsafe(32)
            self.refresh_tokens[refresh] = grant
            grant.live_refresh_token = refresh
            self._issued.append(refresh)
            response["refresh_token"] = refresh
        return response

    def _revoke(self, handler: BaseHTTPRequestHandler, body: bytes):
        form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
        with self.lock:
            failure = self._revoke_failures.pop(0) if self._revoke_failures else None
        if failure:
            return failure, {"Content-Type": "text/html"}, b"<html>revocation down</html>"
        if self._client_auth(handler, form) is None:
            return 401, {}, {"error": "invalid_client"}
        token = form.get("token", "")
        with self.lock:
            grant = self.refresh_tokens.get(token) or getattr(
                self.access_tokens.get(token), "grant", None
            )
            if grant is not None:
                grant.revoked = True
            self.revocations.append(token)
        return 200, {}, {}
