"""Which emulator plays which provider: the one beside its package
(connections/providers/<key>/emulator.py, its OAuth from the catalog entry plus its API),
the generic OAuth server otherwise (connections/providers/emulation)."""

from __future__ import annotations

from connections.providers.catalog import Provider
from connections.providers.emulation import emulator_class
from connections.providers.emulation.oauth import OAuthProvider

__all__ = ["emulator_class", "emulator_for"]


def emulator_for(spec: Provider) -> OAuthProvider:
    emulator = emulator_class(spec.key)
    return emulator() if emulator else OAuthProvider(spec)
