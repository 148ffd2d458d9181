"""monday.com emulator fixtures (a real server on 127.0.0.1) and browser-like helpers."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from connections.configuration import create_connection
from connections.providers.monday.emulator import MondayEmulator
from connections.providers.monday.emulator_api import MondayApi
from tests.sandboxed import InWorld, into_sandbox

CLIENT_ID = "portal-client-id"
CLIENT_SECRET = "portal-client-secret-4f1a9"
REDIRECT_URI = "http://testserver/oauth/callback/monday/"
MONDAY_ALICE = 101
MONDAY_BOB = 102


@pytest.fixture
def monday(request, provider_backend):
    """monday.com's emulator with Alice and Bob: on a socket, or (provider_backend
    "sandbox") in a sandbox world of the organization, its connection made with it."""
    emulator = MondayEmulator()
    emulator.add_client(CLIENT_ID, CLIENT_SECRET, [REDIRECT_URI])
    emulator.add_user(MONDAY_ALICE, "Alice", "alice@acme.test")
    emulator.add_user(MONDAY_BOB, "Bob", "bob@acme.test")
    emulator.login_as(MONDAY_ALICE)
    MondayApi(emulator)
    if provider_backend == "sandbox":
        _, in_world = into_sandbox(
            org=request.getfixturevalue("org"),
            emulator=emulator,
            name="monday",
            provider="monday",
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
        )
        yield in_world
        return
    with emulator:
        yield emulator


def emulator_overrides(emulator: MondayEmulator) -> dict[str, str]:
    return {
        "authorization_url": f"{emulator.base_url}/oauth2/authorize",
        "token_url": f"{emulator.base_url}/oauth_ms/oauth/token",
        "revoke_url": f"{emulator.base_url}/oauth_ms/oauth/revoke",
        "api_base_url": f"{emulator.base_url}/v2",
    }


def emulated_connection(org, emulator):
    """The organization's `monday` connection, pointed at the emulator."""
    if isinstance(emulator, InWorld):  # made with its sandbox world
        return emulator.connection
    return create_connection(
        org=org,
        name="monday",
        provider="monday",
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        **emulator_overrides(emulator),
    )


@pytest.fixture
def monday_connection(org, owner, monday):
    return emulated_connection(org, monday)


def follow_to_provider(location: str, monday_user: int | None = None) -> str:
    """Open the provider's authorization URL like a browser; return where it redirects."""
    url = location if monday_user is None else f"{location}&emu_user={monday_user}"
    response = httpx.get(url, follow_redirects=False, timeout=5)
    assert response.status_code in (302, 303), response.text
    return response.headers["location"]


def callback_path(redirect: str) -> str:
    parts = urlsplit(redirect)
    return f"{parts.path}?{parts.query}"


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def connect_via_portal(client, monday_user: int | None = None, name: str = "monday"):
    """The whole portal flow: Connect button → provider → callback. Returns the callback response."""
    start = client.post(f"/connected-accounts/{name}/connect/")
    assert start.status_code == 302, start.content
    redirect = follow_to_provider(start["Location"], monday_user)
    return client.get(callback_path(redirect))


@pytest.fixture
def boards(monday):
    """A Marketing board Alice (member) can use and a Finance board she cannot."""
    api = monday.api
    api.add_board(
        1001,
        "Marketing",
        members=[MONDAY_ALICE],
        groups=[("topics", "This week"), ("next", "Next week")],
    )
    api.add_board(2002, "Finance", members=[MONDAY_BOB])
    api.add_item(1001, "Launch plan", status={"label": "Working on it"})
    return api


def connected(membership, emulator: MondayEmulator, connection, monday_user: int):
    """The member's ACTIVE monday account as the connect flow leaves it, with tokens the
    emulator issued — without walking the flow (tests of the flow call connect_via_portal)."""
    from connections.oauth_client import TokenResponse
    from tests.factories import ConnectedAccountFactory

    user = emulator.users[monday_user]
    answer = emulator.mint(monday_user, list(connection.scopes))
    return ConnectedAccountFactory(
        connection=connection,
        identifier=membership.user.identifier,
        user=membership.user,
        provider_account_id=str(monday_user),
        provider_account_label=user["email"],
        is_default=True,
        tokens=TokenResponse(
            access_token=answer["access_token"],
            refresh_token=answer["refresh_token"],
            token_type="Bearer",
            expires_in=answer.get("expires_in"),
            scopes=tuple(connection.scopes),
            kept={},
            raw=answer,
        ),
    )


@pytest.fixture
def alice(member, monday, monday_connection, boards):
    """The org member, connected to monday.com as Alice."""
    connected(member, monday, monday_connection, MONDAY_ALICE)
    return member


@pytest.fixture
def bob(owner, monday, monday_connection, boards):
    """The org owner, connected to monday.com as Bob (no access to Marketing)."""
    connected(owner, monday, monday_connection, MONDAY_BOB)
    return owner
