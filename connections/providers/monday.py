"""monday.com.

OAuth 2.1 flow (monday's "oauth_ms" endpoints): PKCE S256, expiring access
tokens, and a new refresh token on every refresh (the old one stops working).
The GraphQL API lives at https://api.monday.com/v2 and takes an `API-Version`
header (https://developer.monday.com/api-reference/docs/api-versioning).
"""

from connections.providers import Provider

API_VERSION = "2025-04"

SCOPES = (
    "me:read",
    "boards:read",
    "boards:write",
    "updates:read",
    "updates:write",
    "users:read",
    "workspaces:read",
    "account:read",
    "assets:read",
    "docs:read",
    "docs:write",
    "tags:read",
    "teams:read",
    "webhooks:read",
    "webhooks:write",
)

PROVIDER = Provider(
    key="monday",
    display_name="monday.com",
    auth_type="oauth2",
    authorization_url="https://auth.monday.com/oauth2/authorize",
    token_url="https://auth.monday.com/oauth_ms/oauth/token",
    revoke_url="https://auth.monday.com/oauth_ms/oauth/revoke",
    api_base_url="https://api.monday.com/v2",
    scope_separator=" ",
    supports_pkce=True,
    token_endpoint_auth_method="client_secret_post",
    default_scopes=(
        "me:read",
        "boards:read",
        "boards:write",
        "updates:read",
        "updates:write",
        "users:read",
        "workspaces:read",
    ),
    available_scopes=SCOPES,
    expiry_from_jwt=True,
    rotates_refresh_tokens=True,
    api_headers={"API-Version": API_VERSION},
    docs_url="https://developer.monday.com/apps/docs/oauth",
)
