"""Cross-origin access for browser-based MCP clients (MCP's authorization spec expects a
browser client to read the 401 challenge, fetch the metadata, register and get tokens).

Only origins in MCP_ALLOWED_ORIGINS (and the portal's own) get CORS headers — on /mcp
(mcpserver/gate.py) and on the OAuth endpoints such a client calls (`OAuthCorsMiddleware`):
preflights are answered, and `WWW-Authenticate` and `Mcp-Session-Id` are readable by the
page. Other origins get nothing extra. Credentials (cookies) are never allowed: MCP uses
bearer tokens, and session cookies never authenticate /mcp.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

ALLOWED_HEADERS = (
    "Authorization, Content-Type, Mcp-Method, Mcp-Name, Mcp-Protocol-Version, "
    "Mcp-Session-Id, Last-Event-ID, X-Portal-Identifier"
)
EXPOSED_HEADERS = "WWW-Authenticate, Mcp-Session-Id, Mcp-Protocol-Version, Retry-After"
# The OAuth endpoints a browser-based MCP client calls with fetch (the authorize endpoint
# is a page the person's browser navigates to: no CORS there).
OAUTH_PATHS = (
    "/.well-known/oauth-authorization-server",
    "/.well-known/oauth-protected-resource",
    "/oauth2/token/",
    "/oauth2/register/",
    "/oauth2/revoke/",
)


def allowed_origins() -> set[str]:
    return {settings.PORTAL_BASE_URL, *settings.MCP_ALLOWED_ORIGINS}


def response_headers(origin: str | None) -> list[tuple[str, str]]:
    """What an allowed origin's response carries; [] for anyone else."""
    if origin is None or origin not in allowed_origins():
        return []
    return [
        ("Access-Control-Allow-Origin", origin),
        ("Access-Control-Expose-Headers", EXPOSED_HEADERS),
        ("Vary", "Origin"),
    ]


def preflight_headers(origin: str | None, methods: str) -> list[tuple[str, str]]:
    allowed = response_headers(origin)
    if not allowed:
        return []
    return [
        *allowed,
        ("Access-Control-Allow-Methods", methods),
        ("Access-Control-Allow-Headers", ALLOWED_HEADERS),
        ("Access-Control-Max-Age", "600"),
    ]


class OAuthCorsMiddleware:
    """CORS on the OAuth endpoints MCP's browser clients call, for allowed origins."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path.startswith(OAUTH_PATHS):
            return self.get_response(request)
        origin = request.headers.get("Origin")
        if request.method == "OPTIONS" and request.headers.get("Access-Control-Request-Method"):
            response = HttpResponse(status=204)
            for name, value in preflight_headers(origin, "GET, POST, PUT, DELETE, OPTIONS"):
                response[name] = value
            return response
        response = self.get_response(request)
        # What an allowed origin gets, and nothing for anyone else (django-oauth-toolkit's
        # metadata views would answer every origin with `*`).
        for name in [h for h in response.headers if h.lower().startswith("access-control-")]:
            del response[name]
        for name, value in response_headers(origin):
            response[name] = value
        return response
