"""A generic OAuth 2 provider on 127.0.0.1, configured from a catalog entry alone.

It answers at the same paths as the real provider (the entry's URL templates, host
swapped for 127.0.0.1), and behaves as the entry says the provider behaves:

* client authentication: HTTP Basic for client_secret_basic, body fields for
  client_secret_post — the other way is refused (401 invalid_client);
* the token request body: JSON or a form, and the other format is refused;
* the answer: JSON when the request accepts JSON, else form-encoded (GitHub's
  default); the user's token nested under `token_path` (Slack's `authed_user`);
  the `keep` values (instance_url, team.id, workspace_id) filled in; no
  `expires_in` when the entry has a default lifetime (Salesforce);
* PKCE: required → refused without S256; supported → checked when sent;
* refresh: rotating entries kill the old refresh token (reuse revokes the whole
  family, unless within the entry's reuse grace); non-rotating ones answer
  without a refresh token (Google);
* revocation at the entry's method, auth and body;
* "who am I": at the entry's path (or in the token answer), id and label at its paths.

Provider emulators (connections/providers/<key>/emulator.py) subclass it and add API routes with
`route(method, path_regex)`; `user_of(handler)` gives the calling user and scopes.
Controls: add_user, login_as (or ?emu_user=), grant_only(scopes) (granular consent),
deny_next_authorization, fail_next_token_requests(n, status), token_delay,
access_token_ttl, expire_access_token, revoke_all_for_user.
Counters: token_requests, refresh_count, revocations, reuse_detected, issued_secrets().
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

from connections.providers import providers
from connections.providers.catalog import Provider
from connections.providers.emulation.parts import (
    Answer,
    Grant,
    IssuedToken,
    b64url,
    nest,
    overrides_for,
    path_regex,
)
from connections.providers.emulation.server import LocalServer


class OAuthProvider(LocalServer):
    def __init__(self, spec: Provider | str) -> None:
        super().__init__()
        self.spec = spec if isinstance(spec, Provider) else providers()[spec]
        self.lock = threading.RLock()
        self.clients: dict[str, tuple[str, list[str]]] = {}
        self.users: dict[str, dict[str, Any]] = {}
        self.default_user: str | None = None
        self.codes: dict[str, dict[str, Any]] = {}
        self.access_tokens: dict[str, IssuedToken] = {}
        self.refresh_tokens: dict[str, Grant] = {}
        self.access_token_ttl = 3600
        self.token_delay = 0.0
        self._deny_next = False
        self._granted: list[str] | None = None
        self._token_failures: list[int] = []
        self._token_slowdowns: list[float] = []
        self.token_requests: list[dict[str, Any]] = []
        self.refresh_count = 0
        self.revocations: list[str] = []
        self.reuse_detected = 0
        self._issued: list[str] = []
        self.api_log: list[dict[str, Any]] = []
        self._routes: list[tuple[str, re.Pattern, Callable]] = []
        self._oauth_routes()

    def constructor_args(self) -> tuple:
        # The catalog entry by its key: rebuilt from the catalog, not carried in the pickle.
        return (self.spec.key,) if type(self) is OAuthProvider else ()

    # --- set-up --------------------------------------------------------------------------
    def add_client(self, client_id: str, client_secret: str, redirect_uris: list[str]) -> None:
        self.clients[client_id] = (client_secret, list(redirect_uris))

    def add_user(self, user_id: str, name: str, email: str, **extra: Any) -> dict:
        user = {"id": str(user_id), "name": name, "email": email, **extra}
        self.users[str(user_id)] = user
        return user

    def login_as(self, user_id: str) -> None:
        self.default_user = str(user_id)

    def grant_only(self, scopes: list[str] | None) -> None:
        """The next consents grant only these scopes (granular consent), None: all asked."""
        self._granted = scopes

    def deny_next_authorization(self) -> None:
        self._deny_next = True

    def fail_next_token_requests(self, n: int, status: int = 503) -> None:
        with self.lock:
            self._token_failures.extend([status] * n)

    def expire_access_token(self, token: str) -> None:
        with self.lock:
            self.access_tokens[token].expires_at = 0

    def revoke_all_for_user(self, user_id: str) -> None:
        with self.lock:
            for token in self.access_tokens.values():
                if token.grant.user_id == str(user_id):
                    token.grant.revoked = True

    def issued_secrets(self) -> list[str]:
        with self.lock:
            return list(self._issued)

    @property
    def overrides(self) -> dict[str, str]:
        return overrides_for(self.spec, self.origin)

    def route(self, method: str, pattern: str, fn: Callable) -> None:
        """Add an API route (it takes precedence over the generic ones):
        fn(handler, match, query, body) → (status, headers, payload), or raise Answer."""
        self._routes.insert(0, (method, re.compile(f"^{pattern}$"), fn))

    def require(self, handler, *scopes: str) -> dict[str, Any]:
        """The calling user, if the token is valid and has the scopes; else answer 401/403."""
        caller = self.user_of(handler)
        if caller is None:
            raise Answer(*self.unauthorized())
        user, granted = caller
        missing = [s for s in scopes if s not in granted]
        if missing:
            raise Answer(*self.forbidden(missing))
        return user

    def unauthorized(self) -> tuple[int, Any]:
        return 401, {"message": "Bad credentials"}

    def forbidden(self, missing: list[str]) -> tuple[int, Any]:
        return 403, {"message": f"missing scopes: {', '.join(missing)}"}

    def label_of(self, user_id: str) -> str:
        """The label the portal should keep for this user (its whoami label path)."""
        return self.users[user_id]["email"]

    @staticmethod
    def json_body(body: bytes) -> Any:
        try:
            return json.loads(body or b"{}")
        except ValueError:
            raise Answer(400, {"message": "Problems parsing JSON"}) from None

    # --- who calls -----------------------------------------------------------------------
    def token_of(self, handler: BaseHTTPRequestHandler) -> str:
        header = handler.headers.get("Authorization", "")
        return header.split(" ", 1)[1] if header.lower().startswith("bearer ") else header

    def user_of(self, handler: BaseHTTPRequestHandler) -> tuple[dict, list[str]] | None:
        """(user, granted scopes) of the request's valid access token, else None."""
        with self.lock:
            token = self.access_tokens.get(self.token_of(handler))
            if token is None or not token.valid:
                return None
            return self.users.get(
                token.grant.user_id, {"id": token.grant.user_id}
            ), token.grant.scopes

    # --- HTTP ------------------------------------------------------------------------------
    def _dispatch(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        parts = urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        status, headers, payload = 404, {}, {"error": "not found", "path": parts.path}
        for route_method, pattern, fn in self._routes:
            match = pattern.match(unquote(parts.path))
            if route_method == method and match:
                with self.lock:
                    self.api_log.append(
                        {"method": method, "path": parts.path, "query": query, "body": body}
                    )
                try:
                    status, headers, payload = fn(handler, match, query, body)
                except Answer as answer:
                    status, headers, payload = answer.status, answer.headers, answer.payload
                break
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        handler.send_response(status)
        headers = dict(headers)
        headers.setdefault("Content-Type", "application/json")
        for name, value in headers.items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    def _oauth_routes(self) -> None:
        spec = self.spec
        self._routes.append(("GET", path_regex(spec.oauth.authorize_url), self._authorize))
        self._routes.append(("POST", path_regex(spec.oauth.token_url), self._token))
        if spec.revoke:
            self._routes.append((spec.revoke.method, path_regex(spec.revoke.url), self._revoke))
        whoami = spec.whoami
        if whoami.source == "api" and (whoami.url or whoami.path is not None):
            template = whoami.url or spec.api.base_url.rstrip("/") + (
                "/" + whoami.path.lstrip("/") if whoami.path else ""
            )
            self._routes.append((whoami.method, path_regex(template), self._whoami))

    # --- OAuth endpoints -------------------------------------------------------------------
    def _authorize(self, handler, match, q, body):
        client = self.clients.get(q.get("client_id", ""))
        redirect_uri = q.get("redirect_uri", "")
        if client is None or redirect_uri not in client[1]:
            return 400, {"Content-Type": "text/plain"}, b"invalid client or redirect_uri"
        back = {"state": q.get("state", "")}
        if self.spec.oauth.issuer:  # RFC 9207, as the provider sends it
            back["iss"] = self.spec.oauth.issuer
        pkce = self.spec.oauth.pkce
        challenge = q.get("code_challenge")
        if self._deny_next:
            self._deny_next = False
            back["error"] = "access_denied"
        elif pkce == "required" and (q.get("code_challenge_method") != "S256" or not challenge):
            back["error"] = "invalid_request"
        else:
            separator = self.spec.oauth.scope_separator
            asked = [
                s for s in q.get(self.spec.oauth.scope_param or "scope", "").split(separator) if s
            ]
            granted = [s for s in asked if self._granted is None or s in self._granted]
            code = "code-" + secrets.token_urlsafe(24)
            with self.lock:
                self.codes[code] = {
                    "client_id": q["client_id"],
                    "redirect_uri": redirect_uri,
                    "scopes": granted,
                    "user_id": str(q.get("emu_user") or self.default_user or ""),
                    "challenge": challenge if pkce != "off" else None,
                    "expires_at": time.time() + 600,
                }
                self._issued.append(code)
            back["code"] = code
        return 302, {"Location": f"{redirect_uri}?{urlencode(back)}"}, b""

    def _client_of(self, handler, form: dict[str, Any]) -> str | None:
        """The authenticated client, by the entry's method only."""
        header = handler.headers.get("Authorization", "")
        if self.spec.oauth.client_auth == "client_secret_basic":
            if not header.startswith("Basic "):
                return None
            client_id, _, secret = base64.b64decode(header[6:]).decode().partition(":")
            client_id, secret = unquote(client_id), unquote(secret)
        else:
            if header.startswith("Basic "):
                return None
            client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
        known = self.clients.get(client_id)
        return client_id if known and secrets.compare_digest(known[0], str(secret)) else None

    def _form(self, handler, body: bytes, expect: str) -> dict[str, Any] | None:
        kind = handler.headers.get("Content-Type", "")
        if expect == "json":
            if "json" not in kind:
                return None
            try:
                return json.loads(body or b"{}")
            except ValueError:
                return None
        if "x-www-form-urlencoded" not in kind:
            return None
        return {k: v[0] for k, v in parse_qs(body.decode()).items()}

    def _answer(self, handler, status: int, payload: dict[str, Any]):
        """JSON when the client accepts it; else form-encoded, as GitHub does by default."""
        if "json" in handler.headers.get("Accept", ""):
            return status, {}, payload
        flat = {k: v for k, v in payload.items() if isinstance(v, (str, int))}
        return (
            status,
            {"Content-Type": "application/x-www-form-urlencoded"},
            urlencode(flat).encode(),
        )

    def slow_next_token_requests(self, n: int, seconds: float) -> None:
        """The next n token requests are answered after `seconds` (processed then, too: a
        caller that gave up or died meanwhile never sees a rotation that happened)."""
        with self.lock:
            self._token_slowdowns.extend([seconds] * n)

    def mint(self, user_id: str, scopes: list[str] | None = None) -> dict[str, Any]:
        """A token answer for a grant made outside the browser flow (bulk set-ups)."""
        grant = Grant(next(iter(self.clients)), str(user_id), list(scopes or []))
        with self.lock:
            return self._issue_tokens(
                grant, with_refresh=self.spec.refresh is not None, first=False
            )

    def _token(self, handler, match, q, body):
        with self.lock:
            failure = self._token_failures.pop(0) if self._token_failures else None
            slowdown = self._token_slowdowns.pop(0) if self._token_slowdowns else 0.0
        if self.token_delay or slowdown:
            time.sleep(self.token_delay + slowdown)
        if failure:
            return failure, {"Content-Type": "text/html"}, b"<html>upstream error</html>"
        form = self._form(handler, body, self.spec.oauth.token_body)
        if form is None:
            return 400, {}, {"error": "invalid_request", "error_description": "wrong body format"}
        with self.lock:
            self.token_requests.append(
                {"grant_type": form.get("grant_type"), "headers": dict(handler.headers)}
            )
        client_id = self._client_of(handler, form)
        if client_id is None:
            return 401, {}, {"error": "invalid_client", "error_description": "client auth"}
        with self.lock:
            if form.get("grant_type") == "authorization_code":
                status, payload = self._exchange(client_id, form)
            elif form.get("grant_type") == "refresh_token":
                status, payload = self._refresh(client_id, form)
            else:
                status, payload = 400, {"error": "unsupported_grant_type"}
        return self._answer(handler, status, payload)

    def _exchange(self, client_id: str, form: dict[str, Any]):
        code = self.codes.pop(form.get("code", ""), None)
        if code is None or code["client_id"] != client_id or code["expires_at"] < time.time():
            return 400, {"error": "invalid_grant", "error_description": "bad code"}
        if form.get("redirect_uri") != code["redirect_uri"]:
            return 400, {"error": "invalid_grant", "error_description": "redirect_uri"}
        if code["challenge"]:
            verifier = form.get("code_verifier", "")
            if b64url(hashlib.sha256(verifier.encode()).digest()) != code["challenge"]:
                return 400, {"error": "invalid_grant", "error_description": "PKCE failed"}
        grant = Grant(client_id, code["user_id"], code["scopes"])
        return 200, self._issue_tokens(
            grant, with_refresh=self.spec.refresh is not None, first=True
        )

    def _refresh(self, client_id: str, form: dict[str, Any]):
        presented = form.get("refresh_token", "")
        grant = self.refresh_tokens.get(presented)
        if grant is None or grant.client_id != client_id or grant.revoked:
            return 400, {"error": "invalid_grant", "error_description": "unknown token"}
        rotates = self.spec.refresh.rotates if self.spec.refresh else False
        if presented in grant.used_refresh_tokens:
            grace = self.spec.refresh.reuse_grace_seconds if self.spec.refresh else 0
            if time.time() - grant.used_refresh_tokens[presented] > grace:
                grant.revoked = True  # reuse: the whole family dies
                self.reuse_detected += 1
                return 400, {"error": "invalid_grant", "error_description": "token reused"}
        self.refresh_count += 1
        if rotates:
            grant.used_refresh_tokens.setdefault(presented, time.time())
        return 200, self._issue_tokens(grant, with_refresh=bool(rotates), first=False)

    def _issue_tokens(self, grant: Grant, *, with_refresh: bool, first: bool) -> dict[str, Any]:
        spec = self.spec
        exp = time.time() + self.access_token_ttl
        access = f"at-{spec.key}-" + secrets.token_urlsafe(24)
        self.access_tokens[access] = IssuedToken(grant, exp)
        self._issued.append(access)
        token: dict[str, Any] = {
            "access_token": access,
            "token_type": "Bearer",
            "scope": spec.oauth.scope_separator.join(grant.scopes),
        }
        lifetime_unknown = spec.refresh is not None and spec.refresh.default_lifetime_seconds
        if not lifetime_unknown:
            token["expires_in"] = self.access_token_ttl
        if with_refresh:
            refresh = f"rt-{spec.key}-" + secrets.token_urlsafe(32)
            self.refresh_tokens[refresh] = grant
            self._issued.append(refresh)
            token["refresh_token"] = refresh
        # The user's token sits where the entry says (Slack: authed_user) on the first
        # exchange; a refresh answers at the top.
        answer: dict[str, Any] = (
            nest(spec.oauth.token_path, token) if spec.oauth.token_path and first else dict(token)
        )
        for name, path in spec.oauth.keep.items():
            nest(path, self.kept_value(name), answer)
        if spec.whoami.source == "token":
            user = self.users.get(grant.user_id, {"id": grant.user_id})
            nest(spec.whoami.id, user["id"], answer)
            nest(spec.whoami.label[0], user.get("email") or user.get("name"), answer)
        return answer

    def kept_value(self, name: str) -> str:
        """What the provider sends for a kept value (a URL ones points back here)."""
        return self.origin if name.endswith("_url") else f"{name}-{self.spec.key}-1"

    def _revoke(self, handler, match, q, body):
        spec = self.spec.revoke
        form: dict[str, Any] = {}
        if spec.body == "form":
            form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
        elif spec.body == "json" and body:
            form = json.loads(body)
        if spec.auth == "bearer":
            token = self.token_of(handler)
        else:
            if spec.auth != "none" and self._revoke_client(handler, form) is None:
                return 401, {}, {"error": "invalid_client"}
            token = form.get(spec.token_param, "")
        with self.lock:
            grant = self.refresh_tokens.get(token) or getattr(
                self.access_tokens.get(token), "grant", None
            )
            if grant is None:
                return 400, {}, {"error": "invalid_token"}
            grant.revoked = True
            self.revocations.append(token)
        return (
            (204 if spec.method == "DELETE" else 200),
            {},
            (b"" if spec.method == "DELETE" else {"ok": True}),
        )

    def _revoke_client(self, handler, form: dict[str, Any]) -> str | None:
        header = handler.headers.get("Authorization", "")
        if self.spec.revoke.auth == "client_secret_basic":
            if not header.startswith("Basic "):
                return None
            client_id, _, secret = base64.b64decode(header[6:]).decode().partition(":")
        else:
            client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
        known = self.clients.get(unquote(client_id))
        return client_id if known and secrets.compare_digest(known[0], unquote(secret)) else None

    def _whoami(self, handler, match, q, body):
        caller = self.user_of(handler)
        if caller is None:
            return 401, {}, {"error": "invalid_token"}
        user = caller[0]
        answer = nest(self.spec.whoami.id, user["id"])
        nest(self.spec.whoami.label[0], user.get("email") or user.get("name"), answer)
        return 200, {}, answer
