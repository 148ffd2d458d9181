"""Contract tests: every provider of the catalog, through the same steps, against an
emulator configured from its own entry (connections/providers/emulation/oauth.py).

Adding a provider adds it here automatically: its entry validates, its authorization
URL carries its parameters, PKCE mode and scope separator, the code exchange and the
refresh follow its client authentication, body format and answer shape, its tokens
rotate (or not) as it says, revocation and "who am I" work, and the transport maps
its errors and rate-limit headers.
"""

from __future__ import annotations

import time
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.utils import timezone
from jsonschema import Draft202012Validator

from connections import accounts, authorization, tokens
from connections.configuration import create_connection
from connections.errors import (
    ProviderUnavailable,
    TokenRejected,
    ToolConflict,
    ToolForbidden,
    ToolInvalid,
    ToolNotFound,
    ToolRateLimited,
)
from connections.models import AccountStatus, ConnectedAccount
from connections.providers import http, providers
from connections.providers.catalog import validate_entry
from tests.fakes.catalog import emulator_for
from tests.fakes.credentials import CLIENT_ID, CLIENT_SECRET
from tests.fakes.scripted import ScriptedServer
from tests.monday_support import callback_path, follow_to_provider

PROVIDERS = sorted(providers())


@pytest.fixture(params=PROVIDERS)
def spec(request):
    return providers()[request.param]


@pytest.fixture
def emulator(spec):
    with emulator_for(spec) as server:
        server.add_client(
            CLIENT_ID, CLIENT_SECRET, [f"http://testserver/oauth/callback/{spec.key}/"]
        )
        server.add_user("u-1", "Alice Example", "alice@example.test")
        server.login_as("u-1")
        yield server


@pytest.fixture
def connection(org, owner, spec, emulator):
    return create_connection(
        org=org,
        name=spec.key,
        provider=spec.key,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        **emulator.overrides,
    )


def connect(client, spec) -> ConnectedAccount:
    start = client.post(f"/connected-accounts/{spec.key}/connect/")
    assert start.status_code == 302, start.content[:500]
    done = client.get(callback_path(follow_to_provider(start["Location"])))
    assert done.status_code == 302, done.content.decode()[:1000]
    return ConnectedAccount.objects.select_related("connection", "organization").get()


def test_the_entry_validates_and_its_tools_are_well_formed(spec):
    module = __import__(f"connections.providers.{spec.key}", fromlist=["ENTRY"])
    assert validate_entry(module.ENTRY) == []
    assert spec.setup.register_url.startswith("https://")
    for tool in spec.tools:
        Draft202012Validator.check_schema(tool.input_schema)
        assert tool.input_schema["additionalProperties"] is False, tool.name
        assert tool.description and len(tool.description) > 20, tool.name
        assert all("description" in p for p in tool.input_schema["properties"].values()), tool.name
        assert tool.name.startswith(tuple(f"{p}_" for p in spec.prefixes))


def test_the_authorization_url_carries_the_entrys_parameters(spec, connection, member):
    account, _ = accounts.get_or_create_connected_account(
        organization=connection.organization,
        connection=connection,
        identifier=member.user.identifier,
    )
    auth_request = authorization.create_authorization_request(account=account)
    url = authorization.provider_authorization_url(auth_request)
    query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    assert query["client_id"] == CLIENT_ID and query["state"] == auth_request.state
    assert query["redirect_uri"] == f"http://testserver/oauth/callback/{spec.key}/"
    assert ("code_challenge" in query) == (spec.oauth.pkce != "off")
    if spec.oauth.pkce != "off":
        assert query["code_challenge_method"] == "S256"
    for name, value in spec.oauth.authorize_params.items():
        assert query[name] == value
    scopes = connection.scopes
    if spec.oauth.scope_param and scopes:
        assert query[spec.oauth.scope_param] == spec.oauth.scope_separator.join(sorted(scopes))


def test_connect_identifies_and_refreshes_as_the_entry_says(
    spec, emulator, connection, member_client
):
    account = connect(member_client, spec)
    assert account.status == AccountStatus.ACTIVE, account.status_reason
    assert account.provider_account_id == "u-1"
    assert account.provider_account_label == emulator.label_of("u-1")
    assert set(account.scopes) == set(connection.scopes)
    for name in spec.oauth.keep:
        assert account.provider_data[name] == emulator.kept_value(name)
    held = accounts.token_set(account)
    assert held["access_token"] in emulator.issued_secrets()
    if spec.refresh is None:
        return
    ConnectedAccount.objects.filter(pk=account.pk).update(
        token_issued_at=timezone.now() - timedelta(hours=1),
        token_expires_at=timezone.now() + timedelta(seconds=10),
    )
    fresh = tokens.get_access_token(account)
    now_held = accounts.token_set(ConnectedAccount.objects.get(pk=account.pk))
    assert emulator.refresh_count == 1 and fresh == now_held["access_token"] != held["access_token"]
    if spec.refresh.rotates:
        assert now_held["refresh_token"] != held["refresh_token"]
    else:
        assert now_held["refresh_token"] == held["refresh_token"]  # kept: none came back


def test_disconnect_revokes_where_the_provider_can(spec, emulator, connection, member_client):
    account = connect(member_client, spec)
    held = accounts.token_set(account)
    accounts.disconnect(account=account)
    if spec.revoke is None:
        assert emulator.revocations == []
    else:
        assert emulator.revocations and emulator.revocations[0] in held.values()
    account.refresh_from_db()
    assert account.status == AccountStatus.DISCONNECTED and account.token_set_sealed == ""


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (401, TokenRejected),
        (403, ToolForbidden),
        (404, ToolNotFound),
        (409, ToolConflict),
        (422, ToolInvalid),
        (500, ProviderUnavailable),
        (503, ProviderUnavailable),
    ],
)
def test_the_transport_maps_errors(spec, status, error):
    with ScriptedServer() as server:
        server.answer(status, {"message": "nope"})
        with pytest.raises(error):
            http.call_api(spec, "GET", f"{server.origin}/x", access_token="t")


def test_rate_limits_carry_the_providers_wait(spec):
    rate = spec.api.rate_limit
    headers = {}
    if rate.retry_after:
        headers[rate.retry_after[0]] = "7"
    elif rate.reset:
        headers[rate.reset[0]] = str(int(time.time()) + 7)
    with ScriptedServer() as server:
        server.answer(429, {"message": "slow down"}, **headers)
        with pytest.raises(ToolRateLimited) as raised:
            http.call_api(spec, "GET", f"{server.origin}/x", access_token="t")
    assert raised.value.retry_after in (7, 8)


def test_answers_that_are_not_json_are_provider_errors(spec):
    with ScriptedServer() as server:
        server.answer(200, b"<html>maintenance</html>", content_type="text/html")
        with pytest.raises(ProviderUnavailable):
            http.call_api(spec, "GET", f"{server.origin}/x", access_token="t")


def _scoped_tool(spec):
    """A tool whose scopes can be withheld while the others are granted (None if none)."""
    defaults = set(spec.oauth.default_scopes)
    for tool in spec.tools:
        needed = set(tool.required_scopes)
        if (
            needed
            and needed <= defaults
            and any(not needed <= set(other.required_scopes) for other in spec.tools)
        ):
            return tool
    return None


def test_withheld_scopes_hide_a_tool_and_a_link_asks_for_them(
    spec, emulator, connection, member, member_client
):
    tool = _scoped_tool(spec)
    if tool is None:
        pytest.skip(f"{spec.key} has no scopes to withhold (its app's settings apply)")
    from connections import tools as tool_service
    from connections.errors import ToolForbidden
    from tests.callers import as_identifier

    withheld = set(tool.required_scopes)
    emulator.grant_only(sorted(set(connection.scopes) - withheld))
    connect(member_client, spec)
    caller = as_identifier(connection.organization, member.user.identifier)
    assert tool.name not in {t.name for t in tool_service.list_tools(caller=caller)}
    with pytest.raises(ToolForbidden) as raised:
        tool_service.execute_tool(caller=caller, tool_name=tool.name, params={})
    assert raised.value.code == "insufficient_scope"
    assert set(raised.value.details["missing_scopes"]) == withheld

    emulator.grant_only(None)
    link = raised.value.details["authorization_link"]
    start = member_client.get(link.removeprefix("http://testserver"))
    asked = parse_qs(urlsplit(start["Location"]).query)[spec.oauth.scope_param or "scope"][0]
    assert withheld <= set(asked.split(spec.oauth.scope_separator))
    member_client.get(callback_path(follow_to_provider(start["Location"])))
    assert tool.name in {t.name for t in tool_service.list_tools(caller=caller)}


def test_every_catalog_field_is_used_by_some_provider():
    """Each field an entry may set is set by at least one provider, so the contract tests
    above exercise it (a field nobody uses is untested)."""
    import typing

    from pydantic import BaseModel

    from connections.providers.catalog import ProviderEntry

    def model_in(annotation):
        """The model a field holds (through Optional and friends), else None."""
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            return annotation
        return next(filter(None, map(model_in, typing.get_args(annotation))), None)

    def leaves(model, prefix=""):
        for name, field in model.model_fields.items():
            path = f"{prefix}{field.alias or name}"
            nested = model_in(field.annotation)
            if nested is not None and nested.model_fields and "tuple" not in str(field.annotation):
                yield from leaves(nested, path + ".")
            else:
                yield path

    def has(entry, path):
        node = entry
        for part in path.split("."):
            if not isinstance(node, dict) or part not in node:
                return False
            node = node[part]
        return True

    entries = [
        __import__(f"connections.providers.{key}", fromlist=["ENTRY"]).ENTRY for key in providers()
    ]
    every = list(leaves(ProviderEntry))
    assert "oauth.token_url" in every and "whoami.json" in every  # the walk reaches down
    unused = [path for path in every if not any(has(e, path) for e in entries)]
    assert not unused, f"catalog fields no provider uses: {unused}"
