"""What an admin needs to set a provider up: where to register the OAuth app, the exact
redirect URI, the scopes the tool set needs, the per-connection settings, the tools.

The "Add a connection" page and `GET /api/v1/providers` both show this; the README's
provider table is generated from the same catalog.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from connections.authorization import provider_redirect_uri
from connections.providers import providers
from connections.providers.catalog import Provider


def needed_scopes(provider: Provider) -> list[str]:
    """Every scope some tool of the provider requires."""
    return sorted({scope for tool in provider.tools for scope in tool.required_scopes})


def describe(provider: Provider, *, request: HttpRequest | None = None) -> dict[str, Any]:
    return {
        "key": provider.key,
        "display_name": provider.display_name,
        "docs_url": provider.docs_url,
        "register_url": provider.setup.register_url,
        "setup_notes": provider.setup.notes,
        "redirect_uri": provider_redirect_uri(provider.key, request),
        "default_scopes": list(provider.default_scopes),
        "scopes_needed_by_tools": needed_scopes(provider),
        # What a new connection asks for (its default scopes): what the app must allow.
        "requested_scopes": sorted(provider.default_scopes),
        "later_scopes": sorted(set(needed_scopes(provider)) - set(provider.default_scopes)),
        "scopes": [
            {"name": name, "description": description}
            for name, description in provider.oauth.scopes.items()
        ],
        "settings": [
            {"name": s.name, "label": s.label, "default": s.default, "help": s.help}
            for s in provider.settings
        ],
        "refresh": provider.refresh is not None,
        "revoke": provider.revoke is not None,
        "tools": [
            {
                "name": tool.name,
                "description": tool.description,
                "required_scopes": list(tool.required_scopes),
                "write": tool.write,
            }
            for tool in provider.tools
        ],
    }


def providers_for_setup(*, request: HttpRequest | None = None) -> list[dict[str, Any]]:
    return [describe(provider, request=request) for provider in providers().values()]


def markdown_table() -> str:
    """The README's table of providers, tools and the scopes each tool needs
    (`manage.py provider_table` prints it; a test fails when the README drifts)."""
    lines = [
        "| Provider | Tool | Scopes it needs | Writes |",
        "| --- | --- | --- | --- |",
    ]
    for provider in providers().values():
        for tool in provider.tools:
            scopes = ", ".join(
                f"`{s.removeprefix('https://www.googleapis.com/auth/')}`"
                for s in tool.required_scopes
            )
            lines.append(
                f"| {provider.display_name} | `{tool.name}` | {scopes or '—'} | "
                f"{'yes' if tool.write else ''} |"
            )
    return "\n".join(lines)
