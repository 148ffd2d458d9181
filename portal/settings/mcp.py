"""The MCP server and its OAuth 2.1 authorization server (mcpserver/).

The MCP endpoint is PORTAL_BASE_URL + /mcp; tokens are issued for exactly that resource
(`mcp_resource`, applied in base.py and again by a mode that changes the base URL).
"""

import os

from portal.settings.base import env_list

# --- MCP server and its OAuth 2.1 authorization server (mcpserver/) ---------------
MCP_ASGI_WRAPPER = "mcpserver.asgi.with_mcp"
# Browser-based MCP clients whose Origin may call /mcp (clients without an Origin, like
# Claude Desktop or Cursor, are not affected). The portal's own origin is always allowed.
MCP_ALLOWED_ORIGINS = env_list("MCP_ALLOWED_ORIGINS", "")
MCP_ACCESS_TOKEN_SECONDS = int(os.environ.get("MCP_ACCESS_TOKEN_SECONDS", "3600"))
# Handshake-era sessions (mcpserver/sessions.py): idle lifetime, and how many one person's
# client may hold at once.
MCP_SESSION_IDLE_SECONDS = float(os.environ.get("MCP_SESSION_IDLE_SECONDS", "1800"))
MCP_SESSIONS_PER_PRINCIPAL = int(os.environ.get("MCP_SESSIONS_PER_PRINCIPAL", "20"))
MCP_REFRESH_TOKEN_DAYS = int(os.environ.get("MCP_REFRESH_TOKEN_DAYS", "30"))
# Unauthenticated registrations (RFC 7591) per client IP and hour; unused ones expire.
MCP_REGISTRATIONS_PER_HOUR = int(os.environ.get("MCP_REGISTRATIONS_PER_HOUR", "20"))
MCP_UNUSED_CLIENT_DAYS = int(os.environ.get("MCP_UNUSED_CLIENT_DAYS", "1"))
MCP_SCOPES = {
    "tools:read": "See your tools and run the ones that only read",
    "tools:write": "Run tools that create, change or delete things as you",
}
# django-oauth-toolkit's own models (named, since its migrations treat them as swappable).
OAUTH2_PROVIDER_APPLICATION_MODEL = "oauth2_provider.Application"
OAUTH2_PROVIDER_ACCESS_TOKEN_MODEL = "oauth2_provider.AccessToken"
OAUTH2_PROVIDER_REFRESH_TOKEN_MODEL = "oauth2_provider.RefreshToken"
OAUTH2_PROVIDER_GRANT_MODEL = "oauth2_provider.Grant"
OAUTH2_PROVIDER_ID_TOKEN_MODEL = "oauth2_provider.IDToken"
OAUTH2_PROVIDER_DEVICE_GRANT_MODEL = "oauth2_provider.DeviceGrant"
# Unauthenticated client metadata document fetches at once per source address (per
# process; the whole process: CIMD_MAX_CONCURRENT_FETCHES below).
MCP_METADATA_FETCHES_PER_ADDRESS = int(os.environ.get("MCP_METADATA_FETCHES_PER_ADDRESS", "2"))


def mcp_resource(base_url: str) -> tuple[str, dict]:
    """The MCP endpoint (the resource tokens are issued for) and the authorization
    server's settings, for the portal at `base_url`."""
    resource_url = f"{base_url}/mcp"
    return resource_url, {
        # mcpserver/oauth_server.py: handlers for exactly the advertised grant types below,
        # hashed codes, every token family bound to its grant (one organization) at issue.
        "OAUTH2_SERVER_CLASS": "mcpserver.oauth_server.PortalServer",
        "OAUTH2_VALIDATOR_CLASS": "mcpserver.oauth_server.PortalValidator",
        "SCOPES": MCP_SCOPES,
        "DEFAULT_SCOPES": ["tools:read", "tools:write"],
        "OIDC_ISS_ENDPOINT": base_url,
        "OAUTH2_PROTECTED_RESOURCE_IDENTIFIER": resource_url,
        "OAUTH2_PROTECTED_RESOURCE_NAME": "Agent Portal tools",
        "ACCESS_TOKEN_EXPIRE_SECONDS": MCP_ACCESS_TOKEN_SECONDS,
        "REFRESH_TOKEN_EXPIRE_SECONDS": MCP_REFRESH_TOKEN_DAYS * 86400,
        "AUTHORIZATION_CODE_EXPIRE_SECONDS": 60,
        "ROTATE_REFRESH_TOKEN": True,
        "REFRESH_TOKEN_REUSE_PROTECTION": True,  # a reused refresh token revokes the family
        "PKCE_REQUIRED": True,
        "ALLOWED_REDIRECT_URI_SCHEMES": ["https", "http", "cursor", "vscode", "vscode-insiders"],
        "ALLOW_LOCALHOST_LOOPBACK": True,  # RFC 8252: native apps' loopback redirects, any port
        "REQUEST_APPROVAL_PROMPT": "force",
        "OAUTH2_RESPONSE_TYPES_SUPPORTED": ["code"],
        "OAUTH2_GRANT_TYPES_SUPPORTED": [
            "authorization_code",
            "refresh_token",
            # ID-JAG (RFC 7523 JWT bearer), only for organizations trusting an IdP.
            "urn:ietf:params:oauth:grant-type:jwt-bearer",
        ],
        "OAUTH2_TOKEN_ENDPOINT_AUTH_METHODS_SUPPORTED": [
            "none",
            "client_secret_basic",
            "client_secret_post",
        ],
        "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": True,
        "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT": True,
        "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,  # S256 only
        "COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT": True,
        "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": True,  # RFC 9207
        "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": True,  # tokens kept as hashes only
        "COMPLIANT_BCP_RFC9700_REFRESH_TOKEN": True,
        # `http` stays for native clients' loopback redirects (RFC 8252); every registration
        # path (mcpserver/clients.py) refuses http to any other host. Hence W008 is silenced.
        "COMPLIANT_BCP_RFC9700_REDIRECT_URI_SCHEME": False,
        "COMPLIANT_BCP_RFC9700_REDIRECT_URI_MATCHING": True,
        "COMPLIANT_BCP_RFC9700_PKCE_REQUIRED": True,
        "DCR_ENABLED": True,
        # Open (MCP clients have no credentials yet); mcpserver.views.RegisterView limits the
        # rate and checks redirect URIs.
        "DCR_REGISTRATION_PERMISSION_CLASSES": ("oauth2_provider.dcr.AllowAllDCRPermission",),
        "CIMD_ENABLED": True,
        "CIMD_METADATA_FETCHER": "mcpserver.clients.GuardedMetadataFetcher",
        "CIMD_REGISTRATION_PERMISSION_CLASSES": ("mcpserver.clients.PerAddressFetchPermission",),
        "CIMD_FETCH_TIMEOUT_SECONDS": float(os.environ.get("MCP_METADATA_TIMEOUT_SECONDS", "5")),
        "CIMD_MAX_CONCURRENT_FETCHES": int(os.environ.get("MCP_METADATA_FETCHES", "10")),
    }


# See OAUTH2_PROVIDER above: plain-http redirects are refused except to loopback.
SILENCED_SYSTEM_CHECKS = ["oauth2_provider.W008"]

# Characters of one tool result an MCP client gets whole; above it, the first part and a
# handle to read the rest with read_result (connections/results.py).
MCP_RESULT_LIMIT = int(os.environ.get("MCP_RESULT_LIMIT", str(16 * 1024)))
