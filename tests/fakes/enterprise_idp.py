"""An enterprise identity provider on 127.0.0.1, as Okta plays it: an OpenID Connect
provider (discovery, authorization code flow with the person `login_as` names already
signed in, token endpoint, userinfo, keys) for single sign-on, and, for Cross App
Access, the token exchange (RFC 8693) that trades an ID token for an Identity Assertion
JWT Authorization Grant (ID-JAG, typ `oauth-id-jag+jwt`) for another application's
authorization server. Tests bend one claim at a time (`overrides`) to see the portal
refuse it."""

from __future__ import annotations

import json
import time
import uuid
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

from connections.providers.emulation.server import LocalServer

TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
ID_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:id_token"
ID_JAG_TYPE = "urn:ietf:params:oauth:token-type:id-jag"


class EnterpriseIdp(LocalServer):
    def __init__(self) -> None:
        super().__init__()
        self.key = RSAKey.generate_key(2048, parameters={"kid": "idp-key-1", "use": "sig"})
        self.people: dict[str, str] = {}  # sub → email
        self.overrides: dict[str, Any] = {}  # claims the next ID-JAGs carry instead
        self.exchanges: list[dict] = []
        # The agent's client id at the portal: the provider's configuration of the app.
        self.client_at_portal = ""
        # Single sign-on: the portal registered as an OIDC client, who is signed in here,
        # each person's groups, and the codes handed out.
        self.oidc_client = ("portal-client", "portal-secret")
        self.signed_in = ""
        self.groups: dict[str, list[str]] = {}
        self.codes: dict[str, dict] = {}
        self.access_tokens: dict[str, str] = {}

    def login_as(self, sub: str) -> None:
        self.signed_in = sub

    @property
    def issuer(self) -> str:
        return self.origin

    def add_person(self, sub: str, email: str) -> None:
        self.people[sub] = email

    def id_token(self, sub: str, client_id: str = "agent-at-idp") -> str:
        """What the agent got when the person signed in to it with this provider."""
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "sub": sub,
            "aud": client_id,
            "email": self.people[sub],
            "iat": now,
            "exp": now + 300,
        }
        return jwt.encode({"alg": "RS256", "kid": self.key.kid}, claims, self.key)

    def sign_id_jag(self, claims: dict, **header: Any) -> str:
        return jwt.encode(
            {"alg": "RS256", "kid": self.key.kid, "typ": "oauth-id-jag+jwt"} | header,
            claims,
            self.key,
        )

    def _id_jag(self, form: dict[str, str]) -> dict:
        subject = jwt.decode(form["subject_token"], self.key).claims
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "sub": subject["sub"],
            "email": subject["email"],
            "aud": form["audience"],
            "resource": form["resource"],
            "client_id": self.client_at_portal,
            "scope": form.get("scope", "tools:read"),
            "jti": uuid.uuid4().hex,
            "iat": now,
            "exp": now + 300,
        }
        return {key: value for key, value in (claims | self.overrides).items() if value is not None}

    def _person(self, sub: str) -> dict:
        return {
            "sub": sub,
            "email": self.people[sub],
            "email_verified": True,
            "groups": self.groups.get(sub, []),
        }

    def _authorize(self, handler: BaseHTTPRequestHandler) -> None:
        query = {k: v[0] for k, v in parse_qs(urlsplit(handler.path).query).items()}
        code = uuid.uuid4().hex
        self.codes[code] = {"sub": self.signed_in, "nonce": query.get("nonce"), **query}
        target = f"{query['redirect_uri']}?{urlencode({'code': code, 'state': query['state']})}"
        handler.send_response(302)
        handler.send_header("Location", target)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    def _code_exchange(self, handler: BaseHTTPRequestHandler, form: dict[str, str]) -> None:
        grant = self.codes.pop(form.get("code", ""), None)
        if grant is None or (form.get("client_id"), form.get("client_secret")) != self.oidc_client:
            return self._json(handler, 400, {"error": "invalid_grant"})
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "aud": self.oidc_client[0],
            "iat": now,
            "exp": now + 300,
            **self._person(grant["sub"]),
        }
        if grant.get("nonce"):
            claims["nonce"] = grant["nonce"]
        access = uuid.uuid4().hex
        self.access_tokens[access] = grant["sub"]
        return self._json(
            handler,
            200,
            {
                "access_token": access,
                "token_type": "Bearer",
                "expires_in": 300,
                "id_token": jwt.encode(
                    {"alg": "RS256", "kid": self.key.kid}, claims | self.overrides, self.key
                ),
            },
        )

    def _dispatch(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        path = handler.path.split("?")[0]
        if method == "GET" and path == "/authorize":
            return self._authorize(handler)
        if method == "GET" and path == "/userinfo":
            sub = self.access_tokens.get(handler.headers.get("Authorization", "")[7:], "")
            if not sub:
                return self._json(handler, 401, {"error": "invalid_token"})
            return self._json(handler, 200, self._person(sub) | self.overrides)
        if method == "GET" and path in (
            "/.well-known/oauth-authorization-server",
            "/.well-known/openid-configuration",
        ):
            return self._json(
                handler,
                200,
                {
                    "issuer": self.issuer,
                    "jwks_uri": f"{self.origin}/keys",
                    "token_endpoint": f"{self.origin}/token",
                    "authorization_endpoint": f"{self.origin}/authorize",
                    "userinfo_endpoint": f"{self.origin}/userinfo",
                    "response_types_supported": ["code"],
                    "token_endpoint_auth_methods_supported": ["client_secret_post"],
                    "id_token_signing_alg_values_supported": ["RS256"],
                    "grant_types_supported": [TOKEN_EXCHANGE, "authorization_code"],
                },
            )
        if method == "GET" and path == "/keys":
            return self._json(handler, 200, KeySet([self.key]).as_dict(private=False))
        if method == "POST" and path == "/token":
            body = handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
            form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
            if form.get("grant_type") == "authorization_code":
                return self._code_exchange(handler, form)
            if (
                form.get("grant_type") != TOKEN_EXCHANGE
                or form.get("requested_token_type") != ID_JAG_TYPE
                or form.get("subject_token_type") != ID_TOKEN_TYPE
            ):
                return self._json(handler, 400, {"error": "invalid_request"})
            self.exchanges.append(form)
            claims = self._id_jag(form)
            return self._json(
                handler,
                200,
                {
                    "access_token": self.sign_id_jag(claims),
                    "issued_token_type": ID_JAG_TYPE,
                    "token_type": "N_A",
                    "expires_in": 300,
                },
            )
        return self._json(handler, 404, {"error": "not_found"})

    @staticmethod
    def _json(handler: BaseHTTPRequestHandler, status: int, data: dict) -> None:
        body = json.dumps(data).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)
