"""What every provider emulator stands on: a server that answers over a real socket (tests,
benchmarks) or in-process (the sandbox app), and a generic OAuth 2 provider configured from
a catalog entry. Each provider's own emulator sits in its folder (`<key>/emulator.py`)."""

from __future__ import annotations

import importlib
from typing import Any

from connections.providers.emulation.oauth import OAuthProvider


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


def new_emulator(key: str) -> Any:
    """A fresh emulator of the provider: its own (monday's with its GraphQL API attached),
    else the generic OAuth server configured from the catalog entry."""
    if key == "monday":
        from connections.providers.monday.emulator import MondayEmulator
        from connections.providers.monday.emulator_api import MondayApi

        emulator = MondayEmulator()
        MondayApi(emulator)
        return emulator
    own = emulator_class(key)
    return own() if own else OAuthProvider(key)
