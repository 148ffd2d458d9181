"""The provider catalog: one package per SaaS provider, collected in a registry.

`connections/providers/<key>/__init__.py` declares `ENTRY` (data, checked by
catalog.py), its `TOOLS`, and hooks only where data cannot say it. The
registry loads them all at start-up (ConnectionsConfig.ready), so a bad entry
stops the portal with a message naming the provider and the field. Adding a
provider = adding its package name to PROVIDER_PACKAGES.
"""

from __future__ import annotations

import functools
import importlib

from django.core.exceptions import ImproperlyConfigured

from connections.providers.catalog import Provider, load_provider

PROVIDER_PACKAGES = (
    "monday",
    "github",
    "slack",
    "google",
    "microsoft",
    "notion",
    "linear",
    "asana",
    "jira",
    "hubspot",
    "salesforce",
)


@functools.cache
def providers() -> dict[str, Provider]:
    """Every provider of the catalog by key, validated; tool names unique across all."""
    loaded: dict[str, Provider] = {}
    for name in PROVIDER_PACKAGES:
        provider = load_provider(importlib.import_module(f"connections.providers.{name}"))
        if provider.key in loaded:
            raise ImproperlyConfigured(f"Provider key {provider.key!r} is declared twice.")
        loaded[provider.key] = provider
    seen: dict[str, str] = {}
    for provider in loaded.values():
        for tool in provider.tools:
            if tool.name in seen:
                raise ImproperlyConfigured(
                    f"Tool {tool.name!r} is declared by {seen[tool.name]} and {provider.key}."
                )
            seen[tool.name] = provider.key
    return loaded


def get_provider(key: str) -> Provider | None:
    return providers().get(key)


def provider_choices() -> list[tuple[str, str]]:
    return [(p.key, p.display_name) for p in providers().values()]
