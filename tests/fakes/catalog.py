"""Which emulator plays which provider: its own when it has API routes, else the generic
OAuth server configured from the catalog entry."""

from __future__ import annotations

from connections.providers.catalog import Provider
from tests.fakes.oauth_server import OAuthProvider

# provider key → emulator class (added as providers get their own emulators)
EMULATORS: dict[str, type[OAuthProvider]] = {}


def emulator_for(spec: Provider) -> OAuthProvider:
    return EMULATORS.get(spec.key, OAuthProvider)(spec)
