"""A provider's emulator, a connection pointed at it, and two members connected to it:
Alice (the org member, provider user u-1) and Bob (the owner, provider user u-2)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest

from connections import tools
from connections.configuration import create_connection
from connections.providers.emulation.oauth import OAuthProvider
from tests.callers import as_identifier
from tests.factories import active_account
from tests.fakes.catalog import emulator_class
from tests.fakes.credentials import CLIENT_ID, CLIENT_SECRET
from tests.fixtures import signed_in
from tests.monday_support import callback_path, follow_to_provider
from tests.sandboxed import InWorld, into_sandbox


@dataclass
class World:
    emulator: Any  # the emulator, or its stand-in in a sandbox world (tests/sandboxed.py)
    connection: Any
    org: Any
    alice: Any  # the member
    bob: Any  # the owner

    def run(self, who, tool: str, **params: Any) -> Any:
        caller = as_identifier(self.org, who.user.identifier)
        return tools.execute_tool(caller=caller, tool_name=tool, params=params)["data"]

    def names(self, who) -> set[str]:
        return {
            t.name for t in tools.list_tools(caller=as_identifier(self.org, who.user.identifier))
        }

    def connect(self, who, user_id: str):
        client = signed_in(who)
        start = client.post(f"/connected-accounts/{self.connection.name}/connect/")
        assert start.status_code == 302, start.content.decode()[:500]
        return client.get(self.authorized(start["Location"], user_id))

    def authorized(self, location: str, user_id: str) -> str:
        """The portal's callback path the provider sends the user back to, once they
        signed in as `user_id` and consented."""
        if isinstance(self.emulator, InWorld):  # past the sandbox's consent page
            return callback_path(self.emulator.authorize(location, user_id))
        return callback_path(follow_to_provider(location, user_id))


@pytest.fixture
def provider_world(org, owner, member, provider_backend):
    started: list[OAuthProvider] = []

    def make(key: str, *, connect: bool = True, prepare=None, **settings: str) -> World:
        emulator = emulator_class(key)()
        if provider_backend == "emulator":
            started.append(emulator.start())
        emulator.add_client(CLIENT_ID, CLIENT_SECRET, [f"http://testserver/oauth/callback/{key}/"])
        emulator.add_user("u-1", "Alice Martin", "alice@acme.test")
        emulator.add_user("u-2", "Bob Stone", "bob@acme.test")
        if prepare is not None:
            prepare(emulator)
        if provider_backend == "sandbox":
            connection, emulator = into_sandbox(
                org=org,
                emulator=emulator,
                name=key,
                provider=key,
                client_id=CLIENT_ID,
                client_secret=CLIENT_SECRET,
                settings=settings,
            )
        else:
            connection = create_connection(
                org=org,
                name=key,
                provider=key,
                client_id=CLIENT_ID,
                client_secret=CLIENT_SECRET,
                settings=settings,
                **emulator.overrides,
            )
        world = World(emulator, connection, org, member, owner)
        if connect:
            for who, user_id in ((member, "u-1"), (owner, "u-2")):
                response = world.connect(who, user_id)
                assert response.status_code == 302, response.content.decode()[:800]
        return world

    yield make
    for emulator in started:
        emulator.stop()


def seed_accounts(
    org,
    connection,
    emulator: OAuthProvider,
    count: int,
    *,
    expires_in: int = 60,
    prefix: str = "seed",
) -> list:
    """`count` ACTIVE accounts holding real tokens of the emulator (minted, not clicked
    through), hour-long tokens with `expires_in` seconds left: bulk set-up for upkeep
    tests and benches."""
    from connections.models import ConnectedAccount

    rows = []
    for n in range(count):
        answer = emulator.mint(f"{prefix}-{n}")
        account = active_account(
            connection,
            f"{prefix}-{n}",
            access_token=answer["access_token"],
            refresh_token=answer.get("refresh_token", ""),
            expires_in=expires_in,
            save=False,
        )
        # An hour-long token, `expires_in` seconds from its end.
        account.token_issued_at = account.token_expires_at - timedelta(hours=1)
        rows.append(account)
    return ConnectedAccount.objects.bulk_create(rows, batch_size=500)
