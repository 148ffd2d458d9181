"""Sandbox pages: the sandbox provider's own sign-in and consent page (where the browser
goes to authorize), its read-only view of the world's data, one-click sandbox connections
and the reset."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode, urlsplit

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from core.decorators import org_page
from portal.models import Membership
from portal.requests import OrgRequest
from sandbox import setup, worlds
from sandbox.models import SandboxWorld


def _world(world_id: Any) -> SandboxWorld:
    world = (
        SandboxWorld.objects.select_related("connection", "organization")
        .filter(pk=world_id)
        .first()
    )
    if world is None:
        raise Http404("No such sandbox.")
    return world


def authorize(request: HttpRequest, world_id: Any, rest: str) -> HttpResponse:
    """The sandbox provider's authorization page. A signed-in member of the world's
    organization is their own sandbox person (no choosing someone with more access);
    anyone else — a company's customer in the API flow — picks one of the sandbox's
    customers. Approving sends the browser back to this portal's callback only."""
    world = _world(world_id)
    query: dict[str, str] = {k: str(v) for k, v in request.GET.items() if k != "emu_user"}
    redirect_uri = query.get("redirect_uri", "")
    parts = urlsplit(redirect_uri)
    if (
        query.get("client_id") != world.connection.client_id
        or parts.path != reverse("oauth_callback", args=[world.provider])
        or parts.netloc != request.get_host()
    ):
        return render(
            request,
            "sandbox/authorize_error.html",
            {"message": "This sandbox sends people back to this portal's own callback only."},
            status=400,
        )
    member = (
        request.user.is_authenticated
        and Membership.objects.filter(organization=world.organization, user=request.user).exists()
    )
    emulator = worlds.read_world(world)
    spec = world.connection.provider_spec
    people = [p for p in worlds.people_of(emulator) if worlds.is_customer(p)]
    asked = [s for s in query.get(spec.oauth.scope_param or "scope", "").replace(",", " ").split()]
    if request.method == "POST":
        approve = request.POST.get("decision") == "approve"
        chosen = request.POST.get("person", "")
        if not member and chosen not in {str(p["id"]) for p in people}:
            return render(
                request,
                "sandbox/authorize_error.html",
                {"message": "Choose who you are in the sandbox."},
                status=400,
            )

        def act(world: SandboxWorld, emulator: Any) -> Any:
            client = emulator.clients.get(world.connection.client_id)
            if client is not None and redirect_uri not in client[1]:
                client[1].append(redirect_uri)
            person = (
                worlds.ensure_person(emulator, world.provider, request.user)
                if member
                else next(i for i in emulator.users if str(i) == chosen)
            )
            if not approve:
                emulator.deny_next_authorization()
            target = f"/{rest}?{urlencode({**query, 'emu_user': person})}"
            return emulator.answer("GET", target, {}, b"")

        status, headers, _ = worlds.with_world(world.pk, act)
        location = dict(headers).get("Location", "")
        if status != 302 or not location.startswith(redirect_uri):
            return render(
                request,
                "sandbox/authorize_error.html",
                {"message": "The sandbox could not authorize this request."},
                status=400,
            )
        return redirect(location)
    return render(
        request,
        "sandbox/authorize.html",
        {
            "world": world,
            "provider": spec,
            "scopes": asked,
            "member": member,
            "people": people,
        },
    )


@org_page()
def world_page(request: OrgRequest, world_id: Any) -> HttpResponse:
    """What is in the sandbox, read-only: to see what an agent did there."""
    world = SandboxWorld.objects.for_org(request.organization).filter(pk=world_id).first()
    if world is None:
        raise Http404("No such sandbox.")
    emulator = worlds.read_world(world)
    return render(
        request,
        "sandbox/world.html",
        {"world": world, "tables": worlds.tables_of(world.provider, emulator)},
    )


@require_POST
@org_page(manager=True, on_error="connections")
def add_connection(request: OrgRequest, provider: str) -> HttpResponse:
    connection = setup.add_sandbox_connection(
        caller=request.caller, provider=provider, request=request
    )
    messages.success(
        request, f"Sandbox connection “{connection.name}” added: connect it as yourself."
    )
    return redirect("connected_accounts")


@require_POST
@org_page(manager=True, on_error="connections")
def reset(request: OrgRequest) -> HttpResponse:
    count = setup.reset_sandbox(caller=request.caller, request=request)
    messages.success(
        request, f"Sandbox reset ({count} worlds): connect the sandbox accounts again."
    )
    return redirect("connections")
