"""Adding sandbox connections and resetting an organization's sandbox.

A sandbox connection is an ordinary Connection (`sandbox=True`) whose endpoints point at
its world: the browser goes to the portal's own consent page (/sandbox/w/<world>/…, a
path on whichever host it came by), every server-side call to the world's in-process
host (core/sandbox.py). Its OAuth client is
made here, so adding one takes no client id or secret.
"""

from __future__ import annotations

import secrets
import uuid
from typing import Any

from django.db import transaction
from django.db.models import Case, IntegerField, Value, When
from django.http import HttpRequest

from audit import trail
from connections.models import Connection
from connections.providers import get_provider
from connections.providers.emulation.parts import overrides_for, template_path
from core import sandbox
from core.errors import Conflict, NotFound
from portal.callers import Caller
from portal.models import Membership
from sandbox import worlds
from sandbox.models import SandboxWorld


def people_of_organization(organization: Any) -> list[Any]:
    """The organization's members, owners first: the sandbox's people."""
    order = Case(
        When(role="owner", then=Value(0)),
        When(role="admin", then=Value(1)),
        default=Value(2),
        output_field=IntegerField(),
    )
    memberships = (
        Membership.objects.filter(organization=organization)
        .select_related("user")
        .order_by(order, "pk")
    )
    return [membership.user for membership in memberships]


def add_sandbox_connection(
    *, caller: Caller, provider: str, request: HttpRequest | None = None
) -> Connection:
    """One click: a sandbox connection of a catalog provider, named `<provider>-sandbox`."""
    caller.require_manager()
    spec = get_provider(provider)
    if spec is None:
        raise NotFound(f"Unknown provider {provider!r}.", code="unknown_provider")
    organization = caller.organization
    name = f"{spec.key}-sandbox"
    if Connection.objects.for_org(organization).filter(name=name).exists():
        raise Conflict(f"The {name} connection exists already.", code="duplicate_name")
    world_id = uuid.uuid4()
    client_id, client_secret = "sandbox-" + secrets.token_hex(8), secrets.token_urlsafe(32)
    emulator = worlds.new_world_emulator(
        provider=spec.key,
        origin=sandbox.world_origin(world_id),
        client_id=client_id,
        client_secret=client_secret,
        people=people_of_organization(organization),
    )
    return open_world(
        organization=organization,
        world_id=world_id,
        name=name,
        provider=spec.key,
        client_id=client_id,
        client_secret=client_secret,
        emulator=emulator,
        caller=caller,
        request=request,
    )


def open_world(
    *,
    organization: Any,
    world_id: uuid.UUID,
    name: str,
    provider: str,
    client_id: str,
    client_secret: str,
    emulator: Any,
    settings: dict[str, str] | None = None,
    caller: Caller | None = None,
    request: HttpRequest | None = None,
) -> Connection:
    """A sandbox connection whose world is `emulator` (answering at the world's origin):
    one click's worth for add_sandbox_connection, and any prepared emulator for the
    provider tests that run against the sandbox."""
    spec = get_provider(provider)
    if spec is None:
        raise NotFound(f"Unknown provider {provider!r}.", code="unknown_provider")
    emulator.public_origin = sandbox.world_origin(world_id)
    endpoints = overrides_for(spec, emulator.public_origin)
    # A path on the portal itself: the browser stays on whichever host it came by.
    endpoints["authorization_url"] = (
        f"/sandbox/w/{world_id}{template_path(spec.oauth.authorize_url)}"
    )
    connection = Connection(
        organization=organization,
        name=name,
        provider=spec.key,
        client_id=client_id,
        scopes=list(spec.default_scopes),
        settings=settings or {},
        sandbox=True,
        **endpoints,
    )
    connection.set_secret("client_secret_sealed", client_secret)
    with transaction.atomic():
        connection.save(force_insert=True)
        SandboxWorld.objects.create(
            id=world_id,
            organization=organization,
            connection=connection,
            provider=spec.key,
            state=worlds.dump(emulator),
        )
        trail.record(
            action="connection.created",
            organization=organization,
            caller=caller,
            request=request,
            target_type="connection",
            target_id=connection.name,
            metadata={"provider": spec.key, "sandbox": True},
        )
    return connection


def reset_sandbox(*, caller: Caller, request: HttpRequest | None = None) -> int:
    """Every sandbox world of the organization back to its sample data. Tokens it issued
    die with it: sandbox accounts connect again. Returns how many worlds were reset."""
    if not caller.test_mode:
        caller.require_manager()
    organization = caller.organization
    people = people_of_organization(organization)
    reset = 0
    with transaction.atomic():
        for world in (
            SandboxWorld.objects.for_org(organization)
            .select_for_update()
            .select_related("connection")
        ):
            connection = world.connection
            world.state = worlds.dump(
                worlds.new_world_emulator(
                    provider=world.provider,
                    origin=sandbox.world_origin(world.pk),
                    client_id=connection.client_id,
                    client_secret=connection.get_secret("client_secret_sealed") or "",
                    people=people,
                )
            )
            world.save(update_fields=["state", "updated_at"])
            reset += 1
        trail.record(
            action="sandbox.reset",
            organization=organization,
            caller=caller,
            request=request,
            target_type="organization",
            target_id=organization.slug,
            metadata={"worlds": reset},
        )
    return reset
