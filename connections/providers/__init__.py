"""The provider catalog: one module per SaaS provider, collected in a registry.

A provider module declares a `PROVIDER` (endpoints, OAuth quirks, scopes) and,
from the tools issue on, its tools. Connections (an organization's OAuth app)
point at a catalog key and may override endpoints (self-hosted, emulators).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Provider:
    key: str
    display_name: str
    auth_type: str  # "oauth2" or "api_key"
    authorization_url: str = ""
    token_url: str = ""
    revoke_url: str = ""
    api_base_url: str = ""
    scope_separator: str = " "
    supports_pkce: bool = True
    # How the client authenticates at the token endpoint (RFC 6749 §2.3 / RFC 8414 names).
    token_endpoint_auth_method: str = "client_secret_post"
    # RFC 9207 `iss` value the provider sends on the callback, when it sends one.
    issuer: str = ""
    default_scopes: tuple[str, ...] = ()
    available_scopes: tuple[str, ...] = ()
    # Access tokens that carry their expiry only as a JWT `exp` claim.
    expiry_from_jwt: bool = False
    # Every refresh returns a new refresh token and invalidates the old one.
    rotates_refresh_tokens: bool = False
    api_headers: dict[str, str] = field(default_factory=dict)
    docs_url: str = ""
    tools: tuple[Any, ...] = ()  # connections.tooling.Tool, declared in the provider module

    @property
    def is_oauth2(self) -> bool:
        return self.auth_type == "oauth2"


def _load() -> dict[str, Provider]:
    from connections.providers import monday

    return {provider.key: provider for provider in (monday.PROVIDER,)}


PROVIDERS: dict[str, Provider] = _load()


def get_provider(key: str) -> Provider | None:
    return PROVIDERS.get(key)


def provider_choices() -> list[tuple[str, str]]:
    return [(p.key, p.display_name) for p in PROVIDERS.values()]
