"""Tenancy by construction: every URL that names an object answers 404 to other organizations.

The test walks the whole URLconf, so a new page or endpoint with an object in
its path is covered the day it is added: its path parameter must appear in
OBJECTS_OF_ORG_A (or EXEMPT with a reason), else `test_every_parameter_is_covered` fails.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from rest_framework.test import APIClient

from agents.models import Agent, AgentRun
from audit import trail
from connections.configuration import create_connection
from connections.models import ConnectedAccount
from portal.apikeys import mint_api_key
from portal.callers import Caller
from portal.models import Invitation, Role
from tests.factories import MembershipFactory
from tests.fixtures import signed_in

METHODS = ["get", "post", "put", "patch", "delete"]
EXEMPT_NAMESPACES = {"admin"}  # Django admin: superusers only, outside tenancy
EXEMPT_PREFIXES = ("accounts/",)  # allauth: per-user, no organization objects
EXEMPT = {
    # The invitee is by definition not a member yet; the signed token is the capability.
    "invitation_respond": "token-addressed; checked against the signed-in email",
    # OAuth redirects: the unguessable request id / state is the capability, and the
    # person finishing the flow need not be a portal member (API flow).
    "oauth_authorize": "capability URL (random UUID of a 10-minute authorization request)",
    "oauth_callback": "path names a provider, not an object; `state` is checked inside",
    # A catalog name, not an organization's object; per-user availability is tested
    # in tests/connections/test_tool_explorer.py.
    "tool_detail": "catalog tool name",
    "connection_new": "catalog provider key",
    "sandbox_add": "catalog provider key",
    # The sandbox provider's consent page, like a real provider's: reached by people
    # outside the organization (a company's customers in the API flow); it sends them
    # back only to this portal's callback, where `state` binds the result.
    "sandbox_authorize": "a provider's authorization page (client id + state checked inside)",
    # RFC 7592: a self-registered MCP client manages its own registration with the
    # registration token it was given; clients belong to no organization.
    "dcr-register-management": "registration-token-addressed (RFC 7592)",
    # SCIM discovery documents: the same for every organization (RFC 7644 §4).
    "scim_schema": "a schema URN, not an organization's object",
    "scim_resource_type": "a resource type name, not an organization's object",
    "scim_not_found": "every path under it is a 404 for everyone",
}


def _walk(resolvers, prefix="", namespace=None) -> Iterator[tuple[str, URLPattern, str | None]]:
    for entry in resolvers:
        if isinstance(entry, URLResolver):
            yield from _walk(
                entry.url_patterns, prefix + str(entry.pattern), entry.namespace or namespace
            )
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), entry, namespace


def object_routes() -> list[tuple[str, URLPattern]]:
    routes = []
    for route, pattern, namespace in _walk(get_resolver().url_patterns):
        if namespace in EXEMPT_NAMESPACES or route.startswith(EXEMPT_PREFIXES):
            continue
        if pattern.name in EXEMPT or not pattern.pattern.regex.groupindex:
            continue
        routes.append((route, pattern))
    return routes


def _invitation(org, owner):
    return Invitation.objects.create(
        organization=org,
        email="invitee@example.test",
        role=Role.MEMBER,
        invited_by=owner.user,
        expires_at=timezone.now() + timedelta(days=7),
    )


def _account(org, owner):
    """An account of A's owner on a connection only A has (per-user routes need the owner's)."""
    connection = create_connection(org=org, name="only-in-a", provider="monday", client_id="c")
    return ConnectedAccount.objects.create(
        organization=org, connection=connection, identifier=owner.user.identifier
    )


def _agent(org):
    return Agent.objects.create(organization=org, name=f"agent {Agent.objects.count()}")


def _run(org, owner):
    """A run of A's owner (members' own runs are the widest case a page may show)."""
    return AgentRun.objects.create(
        organization=org,
        agent=_agent(org),
        user=owner.user,
        identifier=owner.user.identifier,
        prompt="hello",
    )


def _mcp_connection(org, owner):
    """An app A's owner let in (an MCP client's authorization in org A)."""
    from oauth2_provider.models import Application

    from mcpserver.models import McpConnection

    application = Application.objects.create(
        name="Agent of A",
        client_type=Application.CLIENT_PUBLIC,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        redirect_uris="https://agent.example/cb",
    )
    return McpConnection.objects.create(
        organization=org, user=owner.user, application=application, authorized_at=timezone.now()
    )


def _mcp_approval(org, owner):
    from mcpserver.models import McpApproval

    return McpApproval.objects.create(
        organization=org,
        user=owner.user,
        identifier=owner.user.identifier,
        client_id="c",
        tool_name="monday_create_item",
        fingerprint="f" * 64,
    )


def _webhook_delivery(org):
    """A delivery to an endpoint of org A (not sent: nothing listens at example.test)."""
    from webhooks.models import WebhookDelivery, WebhookEndpoint, WebhookEvent

    endpoint = WebhookEndpoint.objects.create(organization=org, url="https://hooks.example.test/")
    event = WebhookEvent.objects.create(organization=org, type="webhook.test", payload={})
    return WebhookDelivery.objects.create(
        organization=org, event=event, endpoint=endpoint, next_attempt_at=timezone.now()
    )


def _sandbox_world(owner):
    from sandbox import setup

    connection = setup.add_sandbox_connection(caller=Caller.of_member(owner), provider="monday")
    return connection.sandbox_world


def _model_script(org):
    from sandbox.models import ModelScript

    return ModelScript.objects.create(organization=org, match="hello", final="hi")


def _toolset(org):
    from connections.models import Toolset

    return Toolset.objects.get_or_create(organization=org, name="only-in-a")[0]


def _policy_rule(owner):
    from connections import policy

    return policy.create_rule(caller=Caller.of_member(owner), name="A's rule", effect="allow")


def _budget(owner):
    from connections import budgets

    return budgets.create_budget(
        caller=Caller.of_member(owner), scope="organization", metric="tokens", period="day", limit=5
    )


def _approval_link(org, owner):
    """A signed link to an MCP approval of org A."""
    from agents import approval_links
    from agents.models import ApprovalLink

    approval = _mcp_approval(org, owner)
    link = ApprovalLink.objects.create(
        organization=org,
        kind="mcp",
        target=approval.pk,
        fingerprint=approval.fingerprint,
        expires_at=timezone.now() + timedelta(minutes=15),
    )
    return approval_links.url_of(link).rsplit("/approve/", 1)[1].strip("/")


def _scim_caller(org):
    from portal.callers import Caller as PortalCaller

    return PortalCaller.of_system(org, via="scim: test")


def _scim_user(org):
    from identity import scim

    payload = {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": f"person-{timezone.now().timestamp()}",
    }
    return scim.create_user(caller=_scim_caller(org), payload=payload).pk


def _scim_group(org):
    from identity.models import ScimGroup

    return ScimGroup.objects.create(organization=org, display_name=f"g{timezone.now()}").pk


def _scim_token(owner):
    from identity import scim_tokens

    return scim_tokens.mint(caller=Caller.of_member(owner), name="idp")[0].pk


def _domain(owner):
    from identity import domains

    return domains.add_domain(caller=Caller.of_member(owner), domain="only-a.example").pk


def _trusted_issuer(org):
    from identity.models import TrustedIssuer

    return TrustedIssuer.objects.create(
        organization=org, issuer="https://idp-of-a.example", jwks_uri="https://idp-of-a.example/k"
    ).pk


def _tool_step(org):
    """A tool step of A's latest run (the run_id in the same path)."""
    run = AgentRun.objects.filter(organization=org).latest("created_at")
    return run.steps.create(organization=org, index=1, kind="tool", tool_name="monday_get_me")


# kwarg name → function(org A, owner of A) returning the path value of one of A's objects.
OBJECTS_OF_ORG_A: dict[str, Callable] = {
    "slug": lambda org, owner: org.slug,
    "membership_id": lambda org, owner: MembershipFactory(organization=org).pk,
    "invitation_id": lambda org, owner: _invitation(org, owner).pk,
    "key_id": lambda org, owner: mint_api_key(caller=Caller.of_member(owner), name="k")[0].pk,
    "name": lambda org, owner: _account(org, owner).connection.name,
    "account_id": lambda org, owner: _account(org, owner).pk,
    "agent_id": lambda org, owner: _agent(org).pk,
    "run_id": lambda org, owner: _run(org, owner).pk,
    "event_id": lambda org, owner: trail.record(action="test.event", organization=org).pk,
    "connection_id": lambda org, owner: _mcp_connection(org, owner).pk,
    "approval_id": lambda org, owner: _mcp_approval(org, owner).pk,
    "endpoint_id": lambda org, owner: _webhook_delivery(org).endpoint_id,
    "delivery_id": lambda org, owner: _webhook_delivery(org).pk,
    "world_id": lambda org, owner: _sandbox_world(owner).pk,
    "rest": lambda org, owner: "oauth2/authorize",  # the sandbox consent page's path
    "provider": lambda org, owner: "monday",
    "script_id": lambda org, owner: _model_script(org).pk,
    "toolset": lambda org, owner: _toolset(org).name,
    "index": lambda org, owner: _tool_step(org).index,
    "budget_id": lambda org, owner: _budget(owner).pk,
    "token": _approval_link,
    "rule_id": lambda org, owner: _policy_rule(owner).pk,
    "scim_id": lambda org, owner: _scim_user(org),
    "group_id": lambda org, owner: _scim_group(org),
    "token_id": lambda org, owner: _scim_token(owner),
    "domain_id": lambda org, owner: _domain(owner),
    "issuer_id": lambda org, owner: _trusted_issuer(org),
    # SCIM discovery names (EXEMPT above; the hostile-input walk still sends them).
    "schema_id": lambda org, owner: "urn:ietf:params:scim:schemas:core:2.0:User",
    "type_id": lambda org, owner: "User",
}


def _path(route: str, pattern: URLPattern, org, owner, values: dict | None = None) -> str:
    """The route with each path parameter replaced by one of org A's objects (or by
    `values[name]`); `path()` converters and `re_path()` groups alike."""
    path = "/" + route
    for name in pattern.pattern.regex.groupindex:
        value = (values or {}).get(name) or OBJECTS_OF_ORG_A[name](org, owner)
        path = re.sub(r"<(?:\w+:)?" + name + r">|\(\?P<" + name + r">[^)]*\)", str(value), path)
    return path.replace("^", "").replace("$", "")


def test_every_parameter_is_covered():
    missing = {
        (route, name)
        for route, pattern in object_routes()
        for name in pattern.pattern.regex.groupindex
        if name not in OBJECTS_OF_ORG_A
    }
    assert not missing, f"add these path parameters to OBJECTS_OF_ORG_A: {sorted(missing)}"


def test_the_walk_finds_pages_and_api_routes():
    routes = {route for route, _ in object_routes()}
    assert "members/<int:membership_id>/remove/" in routes
    assert len(routes) >= 5


@pytest.mark.parametrize(("route", "pattern"), object_routes(), ids=lambda v: str(v))
def test_other_organization_gets_404_for_every_method(route, pattern, org, owner, other_owner):
    path = _path(route, pattern, org, owner)
    is_api = route.startswith("api/")
    is_scim = route.startswith("scim/")
    if is_scim:  # an identity provider's token of org B, then of org A
        from identity import scim_tokens

        def scim_client(member):
            token = scim_tokens.mint(caller=Caller.of_member(member), name="idp")[1]
            return APIClient(HTTP_AUTHORIZATION=f"Bearer {token}")

        clients = [scim_client(other_owner)]
    elif is_api:
        outsider = APIClient()
        outsider.force_login(other_owner.user)  # session caller of org B, with CSRF off
        _, key = mint_api_key(caller=Caller.of_member(other_owner), name="b")
        key_client = APIClient()
        key_client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
        clients = [outsider, key_client]
    else:
        clients = [signed_in(other_owner)]
    allowed = []
    for client in clients:
        for method in METHODS:
            status = getattr(client, method)(path).status_code
            assert status in (404, 405), f"{method.upper()} {path} as org B → {status}"
            if status == 404:
                allowed.append(method)
    assert allowed, f"{path} answered 405 to every method: nothing was proven"

    # Control: the same path is not a 404 for org A, so the 404 above is about tenancy.
    if is_scim:
        insider = scim_client(owner)
    elif is_api:
        _, own_key = mint_api_key(caller=Caller.of_member(owner), name="a")
        insider = APIClient()
        insider.credentials(HTTP_AUTHORIZATION=f"Bearer {own_key}")
    else:
        insider = signed_in(owner)
    assert getattr(insider, allowed[0])(path).status_code != 404
