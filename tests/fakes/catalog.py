"""Which emulator plays which provider: the one beside its package
(connections/providers/<key>/emulator.py, its OAuth from the catalog entry plus its API),
the generic OAuth server otherwise."""

from __future__ import annotations

import importlib

from connections.providers.catalog import Provider
from tests.fakes.oauth_server import OAuthProvider


def emulator_class(key: str) -> type[OAuthProvider] | None:
    """The provider's own emulator (a subclass of the generic OAuth server), if it has one."""
    try:
        module = importlib.import_module(f"connections.providers.{key}.emulator")
    except ModuleNotFoundError:
        return None
    found = [
        value
        for value in vars(module).values()
        if isinstance(value, type)
        and issubclass(value, OAuthProvider)
        and value is not OAuthProvider
    ]
    if len(found) > 1:
        raise LookupError(f"{module.__name__} defines several OAuthProvider emulators: {found}")
    return found[0] if found else None  # monday's emulator is a server of its own


def emulator_for(spec: Provider) -> OAuthProvider:
    emulator = emulator_class(spec.key)
    return emulator() if emulator else OAuthProvider(spec)
