"""An enterprise identity provider on 127.0.0.1, as Okta plays it in Cross App Access:
it publishes its metadata and keys, signs people's ID tokens, and performs the token
exchange (RFC 8693) that trades an ID token for an Identity Assertion JWT Authorization
Grant (ID-JAG, typ `oauth-id-jag+jwt`) for another application's authorization server.
Tests then bend one claim at a time (`overrides`) to see the portal refuse it."""

from __future__ import annotations

import json
import time
import uuid
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs

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

    def _dispatch(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        path = handler.path.split("?")[0]
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
                    "grant_types_supported": [TOKEN_EXCHANGE],
                },
            )
        if method == "GET" and path == "/keys":
            return self._json(handler, 200, KeySet([self.key]).as_dict(private=False))
        if method == "POST" and path == "/token":
            body = handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
            form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
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
