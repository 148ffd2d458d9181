"""Sandbox worlds: a provider's emulator, with an organization's people and sample data,
kept in the database between requests.

The same emulator classes the tests run against (connections/providers/<key>/emulator.py)
play the provider here, answering in-process under the reserved host of sandbox/service.py
— so a sandbox connection exercises the real path (catalog entry, OAuth client, vault,
refresh, the one outbound transport, tools) with only the endpoints differing.

A world's state is pickled, then signed with a key derived from SECRET_KEY: it is only
ever unpickled after its signature checks, so the database alone cannot make the portal
run code. Every request takes the world's row lock, so workers and web processes see
one history.
"""

from __future__ import annotations

import hashlib
import hmac
import pickle
import zlib
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import transaction

from connections.providers.emulation import new_emulator
from sandbox.models import SandboxWorld

# Providers whose sandbox comes with sample data in which people see different things.
SEEDED = ("monday", "github", "slack")
# People of the sandbox who are not portal members: the customers a company's backend
# connects through the API flow (they pick who they are on the sandbox's sign-in page).
CUSTOMERS = (("Casey Customer", "casey@customer.test"), ("Devon Customer", "devon@customer.test"))


class WorldTampered(Exception):
    """A stored world whose signature does not check: never unpickled."""


def _key() -> bytes:
    return hashlib.sha256(b"agent-portal sandbox world\x00" + settings.SECRET_KEY.encode()).digest()


def dump(emulator: Any) -> bytes:
    data = zlib.compress(pickle.dumps(emulator, protocol=pickle.HIGHEST_PROTOCOL))
    return hmac.new(_key(), data, hashlib.sha256).digest() + data


def load(state: bytes) -> Any:
    state = bytes(state)
    signature, data = state[:32], state[32:]
    if not hmac.compare_digest(signature, hmac.new(_key(), data, hashlib.sha256).digest()):
        raise WorldTampered("The sandbox world's signature does not check.")
    return pickle.loads(zlib.decompress(data))  # noqa: S301 - signed by us, checked above


def person_id(provider: str, index: int) -> Any:
    """The sandbox's id of the index-th person (monday's ids are numbers)."""
    return 101 + index if provider == "monday" else f"u-{101 + index}"


def new_world_emulator(
    *, provider: str, origin: str, client_id: str, client_secret: str, people: list[Any]
) -> Any:
    """A fresh emulator: the connection's OAuth client, the people (first one: the owner),
    and the provider's sample data."""
    emulator = new_emulator(provider)
    emulator.public_origin = origin
    emulator.add_client(client_id, client_secret, [])
    ids = []
    for index, person in enumerate(people):
        ids.append(add_person(emulator, provider, index, person))
    customers = [
        add_person(emulator, provider, len(ids) + n, Person(name, email))
        for n, (name, email) in enumerate(CUSTOMERS)
    ]
    seed = SEEDS.get(provider)
    if seed is not None and ids:
        seed(emulator, ids + customers)
    return emulator


class Person:
    """A sandbox person who is not a portal user."""

    def __init__(self, name: str, email: str) -> None:
        self.name, self.email = name, email

    def get_full_name(self) -> str:
        return self.name


def is_customer(person: dict[str, Any]) -> bool:
    return str(person.get("email", "")).endswith("@customer.test")


def add_person(emulator: Any, provider: str, index: int, person: Any) -> Any:
    ident = person_id(provider, index)
    name = (person.get_full_name() if hasattr(person, "get_full_name") else "") or (
        person.email.split("@")[0].replace(".", " ").title()
    )
    if provider == "github":
        emulator.add_user(ident, name, person.email, login=person.email.split("@")[0])
    else:
        emulator.add_user(ident, name, person.email)
    return ident


def people_of(emulator: Any) -> list[dict[str, Any]]:
    return [dict(user) for user in emulator.users.values()]


def ensure_person(emulator: Any, provider: str, user: Any) -> Any:
    """The sandbox id of the portal user (by email), added with no access yet if new."""
    for ident, person in emulator.users.items():
        if str(person.get("email", "")).lower() == user.email.lower():
            return ident
    return add_person(emulator, provider, len(emulator.users), user)


def _seed_monday(emulator: Any, ids: list[Any]) -> None:
    api = emulator.api
    everyone, owner = ids, ids[:1]
    launch = api.add_board(4001, "Launch plan", members=everyone)
    api.add_item(launch, "Draft the announcement")
    api.add_item(launch, "Book the venue")
    leadership = api.add_board(4002, "Leadership", members=owner)
    api.add_item(leadership, "Salary review")


def _seed_github(emulator: Any, ids: list[Any]) -> None:
    logins = [emulator.users[ident]["login"] for ident in ids]  # GitHub's members are logins
    everyone, owner = logins, logins[:1]
    emulator.add_repo("acme/website", members=everyone, private=True)
    emulator.add_issue("acme/website", "The pricing page is out of date", author=owner[0])
    emulator.add_repo("acme/payroll", members=owner, private=True)
    emulator.add_issue("acme/payroll", "Quarterly bonus run", author=owner[0])


def _seed_slack(emulator: Any, ids: list[Any]) -> None:
    everyone, owner = ids, ids[:1]
    emulator.add_channel("C0GENERAL", "general", members=everyone)
    emulator.add_message("C0GENERAL", owner[0], "Welcome to the sandbox workspace!")
    emulator.add_channel("C0LEADERS", "leadership", members=owner, private=True)
    emulator.add_message("C0LEADERS", owner[0], "Board meeting moved to Thursday.")


SEEDS: dict[str, Callable[[Any, list[Any]], None]] = {
    "monday": _seed_monday,
    "github": _seed_github,
    "slack": _seed_slack,
}


def tables_of(provider: str, emulator: Any) -> list[dict[str, Any]]:
    """The world's data as tables for its read-only page."""
    people = {ident: person for ident, person in emulator.users.items()}
    tables = [
        {
            "title": "People",
            "columns": ["Id", "Name", "Email"],
            "rows": [[p["id"], p.get("name", ""), p.get("email", "")] for p in people.values()],
        }
    ]
    if provider == "monday":
        api = emulator.api
        for board in api.boards.values():
            members = ", ".join(
                str(people.get(m, {}).get("name", m)) for m in sorted(board["members"])
            )
            tables.append(
                {
                    "title": f"Board “{board['name']}” ({board['id']}) — members: {members}",
                    "columns": ["Item", "Id", "Group"],
                    "rows": [
                        [item["name"], item["id"], item["group_id"]]
                        for item in api.active_items()
                        if item["board_id"] == board["id"]
                    ],
                }
            )
    elif provider == "github":
        for repo in emulator.repos.values():
            tables.append(
                {
                    "title": f"Repository {repo['full_name']} — members: "
                    + ", ".join(sorted(repo["members"])),
                    "columns": ["#", "Title", "State"],
                    "rows": [
                        [i["number"], i["title"], i["state"]] for i in repo["issues"].values()
                    ],
                }
            )
    elif provider == "slack":
        for channel in emulator.channels.values():
            members = ", ".join(
                str(people.get(m, {}).get("name", m)) for m in sorted(channel["members"])
            )
            tables.append(
                {
                    "title": f"#{channel['name']} — members: {members}",
                    "columns": ["From", "Message"],
                    "rows": [
                        [people.get(m["user"], {}).get("name", m["user"]), m["text"]]
                        for m in channel["messages"]
                    ],
                }
            )
    return tables


def with_world(world_id: Any, act: Callable[[SandboxWorld, Any], Any]) -> Any:
    """Run `act(world, emulator)` under the world's row lock and store what it changed."""
    with transaction.atomic():
        world = (
            SandboxWorld.objects.select_for_update()
            .select_related("connection", "organization")
            .filter(pk=world_id)
            .first()
        )
        if world is None:
            return None
        emulator = load(world.state)
        result = act(world, emulator)
        world.state = dump(emulator)
        world.save(update_fields=["state", "updated_at"])
        return result


def read_world(world: SandboxWorld) -> Any:
    """The world's emulator as stored, for reading only."""
    return load(world.state)
