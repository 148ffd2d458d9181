"""The provider tests against the sandbox: the same emulator a test prepared, moved into a
sandbox world (the database, answered in-process under the sandbox's reserved host), and
a stand-in the test keeps using as if it were the emulator object.

Provider tests take the `provider_backend` fixture ("emulator" by default; both under
connections/providers/, whose conftest parametrizes it), so every tool test of every
provider runs once against the emulator on a socket and once against the sandbox code.
"""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlsplit

import pytest

from sandbox import setup, worlds
from sandbox.models import SandboxWorld

BACKENDS = ("emulator", "sandbox")


@pytest.fixture
def provider_backend() -> str:
    return "emulator"


class InWorld:
    """An emulator (or a part of it, such as monday's `api`) living in a sandbox world.
    Reading an attribute reads the stored world afresh; calling a method, or setting an
    attribute, changes the world under its row lock and stores it — what the sandbox
    service does for every request."""

    def __init__(self, world_id: uuid.UUID, path: tuple[str, ...] = ()) -> None:
        object.__setattr__(self, "world_id", world_id)
        object.__setattr__(self, "path", path)

    def _part(self, emulator: Any) -> Any:
        for name in self.path:
            emulator = getattr(emulator, name)
        return emulator

    def __getattr__(self, name: str) -> Any:
        stored = worlds.read_world(SandboxWorld.objects.get(pk=self.world_id))
        value = getattr(self._part(stored), name)
        if callable(value) and hasattr(value, "__self__"):

            def call(*args: Any, **kwargs: Any) -> Any:
                return worlds.with_world(
                    self.world_id,
                    lambda world, emulator: getattr(self._part(emulator), name)(*args, **kwargs),
                )

            return call
        if type(value).__module__.startswith("connections.providers."):
            return InWorld(self.world_id, (*self.path, name))
        return value

    def __setattr__(self, name: str, value: Any) -> None:
        worlds.with_world(
            self.world_id, lambda world, emulator: setattr(self._part(emulator), name, value)
        )

    @property
    def connection(self) -> Any:
        return SandboxWorld.objects.select_related("connection").get(pk=self.world_id).connection

    def authorize(self, location: str, user_id: Any) -> str:
        """What the sandbox's consent page does once the person is known: the provider's
        authorization endpoint, answered in the world; returns where it redirects."""
        parts = urlsplit(location)
        rest = parts.path.split(f"/sandbox/w/{self.world_id}", 1)[1]
        target = f"{rest}?{parts.query}&emu_user={user_id}"
        status, headers, _ = worlds.with_world(
            self.world_id, lambda world, emulator: emulator.answer("GET", target, {}, b"")
        )
        assert status in (302, 303), status
        return dict(headers)["Location"]


def into_sandbox(
    *,
    org: Any,
    emulator: Any,
    name: str,
    provider: str,
    client_id: str,
    client_secret: str,
    settings: dict[str, str] | None = None,
) -> tuple[Any, InWorld]:
    """A sandbox connection whose world is the prepared `emulator`; returns the connection
    and the stand-in to keep using in its place."""
    world_id = uuid.uuid4()
    connection = setup.open_world(
        organization=org,
        world_id=world_id,
        name=name,
        provider=provider,
        client_id=client_id,
        client_secret=client_secret,
        emulator=emulator,
        settings=settings,
    )
    return connection, InWorld(world_id)
