"""MCP clients that know only the URL: discovery from a 401, registration (RFC 7591 and
client metadata documents), the person's consent, tokens bound to this resource, refresh
rotation with reuse detection, revocation — with the official SDK's client against the
portal served by uvicorn."""

from __future__ import annotations

from datetime import timedelta

import httpx2
import pytest
from django.utils import timezone
from oauth2_provider.models import AccessToken, Application

from audit.models import AuditEvent
from mcpserver.models import McpConnection
from tests.factories import UserFactory
from tests.fakes.documents import DocumentServer
from tests.fakes.tls import local_tls
from tests.mcp_support import (
    REDIRECT_URI,
    Consent,
    MemoryStorage,
    bearer,
    oauth_client,
    register,
    sign_in,
    use_tools,
)

pytestmark = pytest.mark.django_db(transaction=True)


def test_discovery_starts_from_a_401(alice, live_portal):
    answer = httpx2.post(
        live_portal.mcp_url, json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    )
    assert answer.status_code == 401
    challenge = answer.headers["www-authenticate"]
    prm_url = f"{live_portal.origin}/.well-known/oauth-protected-resource/mcp"
    assert challenge.startswith("Bearer ") and f'resource_metadata="{prm_url}"' in challenge
    assert 'scope="tools:read tools:write"' in challenge
    assert answer.json()["error"]["code"]

    for path in (
        "/.well-known/oauth-protected-resource/mcp",
        "/.well-known/oauth-protected-resource",
    ):
        prm = httpx2.get(live_portal.origin + path).json()
        assert prm["resource"] == live_portal.mcp_url
        assert prm["authorization_servers"] == [live_portal.origin]
        assert prm["scopes_supported"] == ["tools:read", "tools:write"]
        assert prm["bearer_methods_supported"] == ["header"]

    metadata = httpx2.get(f"{live_portal.origin}/.well-known/oauth-authorization-server").json()
    assert metadata["issuer"] == live_portal.origin
    assert metadata["authorization_endpoint"] == f"{live_portal.origin}/oauth2/authorize/"
    assert metadata["token_endpoint"] == f"{live_portal.origin}/oauth2/token/"
    assert metadata["revocation_endpoint"] == f"{live_portal.origin}/oauth2/revoke/"
    assert metadata["registration_endpoint"] == f"{live_portal.origin}/oauth2/register/"
    assert metadata["response_types_supported"] == ["code"]
    assert metadata["code_challenge_methods_supported"] == ["S256"]
    assert metadata["client_id_metadata_document_supported"] is True
    assert metadata["authorization_response_iss_parameter_supported"] is True
    assert set(metadata["grant_types_supported"]) == {
        "authorization_code",
        "refresh_token",
        "urn:ietf:params:oauth:grant-type:jwt-bearer",
    }


def test_a_client_registers_signs_alice_in_and_uses_her_tools(alice, boards, live_portal):
    storage, consent, outcome = sign_in(live_portal, alice, organization="acme")

    page = consent.pages[0]
    assert "Test Agent" in page and "127.0.0.1" in page and 'class="redirect-host"' in page
    assert "Acme" in page
    # Write access is asked once (its checkbox), not also listed among what the app may do.
    assert page.count("create, change or delete things") == 1
    assert outcome.protocol_version == "2026-07-28"
    assert {"monday_list_boards", "monday_create_item"} <= outcome.names
    annotations = {t.name: t.annotations for t in outcome.tools}
    assert annotations["monday_list_boards"].read_only_hint is True
    assert annotations["monday_create_item"].destructive_hint is True
    # RFC 9207: the authorization response names its issuer.
    assert (
        f"iss={live_portal.origin.replace(':', '%3A').replace('/', '%2F')}" in consent.redirects[0]
    )

    client_id = storage.client_info.client_id
    application = Application.objects.get(client_id=client_id)
    assert application.registration_source == "dcr" and application.name == "Test Agent"
    # (The other token of the client is its RFC 7592 registration token, for no user.)
    token = AccessToken.objects.get(application=application, user=alice.user)
    assert token.resource == [live_portal.mcp_url]
    assert token.expires <= timezone.now() + timedelta(hours=1)
    assert token.token == ""  # kept as a hash only
    connection = McpConnection.objects.get(application=application)
    assert connection.user == alice.user and connection.organization.slug == "acme"
    assert sorted(connection.scopes) == ["tools:read", "tools:write"]
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"mcp.client_registered", "mcp.authorized"} <= actions


def test_tools_run_as_the_person_who_signed_in(alice, bob, boards, live_portal):
    sign_in(live_portal, alice, organization="acme")
    bob_storage, _, _ = sign_in(live_portal, bob, organization="acme")
    bob_calls = use_tools(
        live_portal.mcp_url,
        headers=bearer(bob_storage.tokens.access_token),
        calls=(
            ("monday_list_boards", {}),
            ("monday_create_item", {"board_id": "1001", "item_name": "Bob was here"}),
        ),
    )

    boards_seen, created = bob_calls.results
    assert [b["name"] for b in boards_seen.structured_content["data"]["boards"]] == ["Finance"]
    assert created.is_error
    assert created.structured_content["error"]["code"] == "tool_forbidden"
    assert not [i for i in boards.items.values() if i["name"] == "Bob was here"]
    executed = AuditEvent.objects.filter(action="tool.executed").order_by("seq").last()
    assert executed.metadata["via"] == "mcp"
    assert (
        executed.metadata["client_id"]
        == Application.objects.get(
            pk=McpConnection.objects.get(user=bob.user).application_id
        ).client_id
    )


def test_a_client_metadata_document_registers_the_client(
    alice, boards, live_portal, settings, tmp_path
):
    context, ca_file = local_tls(tmp_path)
    settings.EGRESS_CA_FILE = str(ca_file)
    from core import outbound

    outbound.close_clients()  # rebuilt with the test CA
    with DocumentServer() as documents:
        documents.tls = context
        documents.stop()
        documents.start()
        url = f"{documents.origin}/oauth/client.json"
        documents.put_json(
            "/oauth/client.json",
            {
                "client_id": url,
                "client_name": "Metadata Agent",
                "redirect_uris": [REDIRECT_URI],
                "grant_types": ["authorization_code", "refresh_token"],
                "response_types": ["code"],
                "token_endpoint_auth_method": "none",
            },
            **{"Cache-Control": "max-age=600"},
        )
        consent = Consent(live_portal.browser(alice.user), organization="acme")
        storage = MemoryStorage()
        outcome = use_tools(
            live_portal.mcp_url,
            auth=oauth_client(live_portal, consent, storage=storage, client_metadata_url=url),
            calls=(("monday_get_me", {}),),
        )
    outbound.close_clients()

    assert storage.client_info.client_id == url
    application = Application.objects.get(client_id=url)
    assert application.registration_source == "cimd" and application.name == "Metadata Agent"
    assert "Metadata Agent" in consent.pages[0]
    assert not outcome.results[0].is_error
    assert documents.requests == ["GET /oauth/client.json"]  # cached after one fetch


def test_a_metadata_document_on_a_private_address_is_not_fetched(alice, live_portal, settings):
    settings.EGRESS_ALLOW_PRIVATE = []  # as in production
    url = "https://127.0.0.1:9/oauth/client.json"
    browser = live_portal.browser(alice.user)
    page = browser.get(
        "/oauth2/authorize/",
        params={
            "client_id": url,
            "response_type": "code",
            "redirect_uri": REDIRECT_URI,
            "code_challenge": "x" * 43,
            "code_challenge_method": "S256",
            "resource": live_portal.mcp_url,
        },
    )
    assert page.status_code == 400 and not Application.objects.filter(client_id=url).exists()


def _token_request(portal, **form) -> httpx2.Response:
    return httpx2.post(f"{portal.origin}/oauth2/token/", data=form)


def test_refresh_rotates_and_a_reused_refresh_token_revokes_the_family(alice, boards, live_portal):
    storage, _, _ = sign_in(live_portal, alice, organization="acme")
    client_id = storage.client_info.client_id
    first = storage.tokens

    rotated = _token_request(
        live_portal,
        grant_type="refresh_token",
        refresh_token=first.refresh_token,
        client_id=client_id,
        resource=live_portal.mcp_url,
    )
    assert rotated.status_code == 200, rotated.text
    fresh = rotated.json()
    assert fresh["refresh_token"] != first.refresh_token
    assert use_tools(live_portal.mcp_url, headers=bearer(fresh["access_token"])).names

    reused = _token_request(
        live_portal,
        grant_type="refresh_token",
        refresh_token=first.refresh_token,
        client_id=client_id,
    )
    assert reused.status_code == 400 and reused.json()["error"] == "invalid_grant"
    # Reuse revoked the whole family: the fresh pair is dead too.
    dead = httpx2.post(
        live_portal.mcp_url,
        headers=bearer(fresh["access_token"]),
        json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
    )
    assert dead.status_code == 401
    again = _token_request(
        live_portal,
        grant_type="refresh_token",
        refresh_token=fresh["refresh_token"],
        client_id=client_id,
    )
    assert again.status_code == 400


def test_revocation_by_the_client_and_in_the_portal(alice, boards, live_portal, member_client):
    storage, _, _ = sign_in(live_portal, alice, organization="acme")
    client_id = storage.client_info.client_id
    revoked = httpx2.post(
        f"{live_portal.origin}/oauth2/revoke/",
        data={"token": storage.tokens.access_token, "client_id": client_id},
    )
    assert revoked.status_code == 200
    listing = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    assert (
        httpx2.post(
            live_portal.mcp_url, headers=bearer(storage.tokens.access_token), json=listing
        ).status_code
        == 401
    )
    assert AuditEvent.objects.filter(action="mcp.token_revoked", metadata__how="client").exists()

    # Signed in again, then the person takes the app's access away on the apps page.
    storage, _, _ = sign_in(live_portal, alice, organization="acme")
    connection = McpConnection.objects.get(application__client_id=storage.client_info.client_id)
    assert b"Test Agent" in member_client.get("/apps/").content
    assert member_client.post(f"/apps/{connection.pk}/revoke/").status_code == 302
    assert (
        httpx2.post(
            live_portal.mcp_url, headers=bearer(storage.tokens.access_token), json=listing
        ).status_code
        == 401
    )
    refreshed = _token_request(
        live_portal,
        grant_type="refresh_token",
        refresh_token=storage.tokens.refresh_token,
        client_id=storage.client_info.client_id,
    )
    assert refreshed.status_code == 400


def test_tokens_for_another_resource_or_expired_are_refused(alice, boards, live_portal):
    storage, _, _ = sign_in(live_portal, alice, organization="acme")
    token = AccessToken.objects.get(
        application__client_id=storage.client_info.client_id, user=alice.user
    )
    listing = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    headers = bearer(storage.tokens.access_token)
    assert use_tools(live_portal.mcp_url, headers=headers).names

    AccessToken.objects.filter(pk=token.pk).update(resource=["https://other.example/mcp"])
    wrong = httpx2.post(live_portal.mcp_url, headers=headers, json=listing)
    assert (
        wrong.status_code == 401
        and "not issued for this MCP server" in wrong.json()["error"]["message"]
    )

    AccessToken.objects.filter(pk=token.pk).update(
        resource=[live_portal.mcp_url], expires=timezone.now() - timedelta(seconds=1)
    )
    assert httpx2.post(live_portal.mcp_url, headers=headers, json=listing).status_code == 401


def test_authorize_refuses_requests_without_this_resource_or_pkce(alice, live_portal):
    application = Application.objects.create(
        name="Fixed",
        client_type=Application.CLIENT_PUBLIC,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        redirect_uris=REDIRECT_URI,
    )
    browser = live_portal.browser(alice.user)
    base = {
        "client_id": application.client_id,
        "response_type": "code",
        "redirect_uri": REDIRECT_URI,
        "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        "code_challenge_method": "S256",
    }
    missing = browser.get("/oauth2/authorize/", params=base)
    other = browser.get(
        "/oauth2/authorize/", params={**base, "resource": "https://other.example/mcp"}
    )
    assert missing.status_code == other.status_code == 400
    assert "resource" in missing.text

    plain = browser.get(
        "/oauth2/authorize/",
        params={**base, "code_challenge_method": "plain", "resource": live_portal.mcp_url},
    )
    no_pkce = browser.get(
        "/oauth2/authorize/",
        params={
            **{k: v for k, v in base.items() if not k.startswith("code_")},
            "resource": live_portal.mcp_url,
        },
    )
    assert plain.status_code == no_pkce.status_code == 400 and "S256" in plain.text
    wrong_redirect = browser.get(
        "/oauth2/authorize/",
        params={
            **base,
            "redirect_uri": "http://127.0.0.1:1/elsewhere",
            "resource": live_portal.mcp_url,
        },
    )
    assert wrong_redirect.status_code == 400  # never redirected to an unregistered URI


@pytest.mark.parametrize(
    "form",
    [
        {},
        {"grant_type": "password", "username": "x", "password": "y"},
        {"grant_type": "authorization_code", "code": "nope", "client_id": "nope"},
        {"grant_type": "refresh_token", "refresh_token": "nope", "client_id": "nope"},
        {"grant_type": "client_credentials"},
    ],
)
def test_token_endpoint_errors_are_oauth_json(live_portal, form):
    answer = _token_request(live_portal, **form)
    assert 400 <= answer.status_code < 500
    assert answer.json()["error"] in {
        "invalid_request",
        "unsupported_grant_type",
        "invalid_client",
        "invalid_grant",
        "unauthorized_client",
    }


def test_registration_is_open_but_limited_and_checks_redirects(client, settings):
    settings.MCP_REGISTRATIONS_PER_HOUR = 3
    plain = register(client, redirect_uris=["http://evil.example/cb"])
    assert plain.status_code == 400 and plain.json()["error"] == "invalid_redirect_uri"
    fragment = register(client, redirect_uris=["https://ok.example/cb#x"])
    assert fragment.status_code == 400
    registered = register(client)
    assert registered.status_code == 201 and registered.json()["client_id"]
    assert register(client).status_code == 429


def test_unused_self_registered_clients_expire(client, settings):
    from mcpserver import clients

    registered = register(client).json()["client_id"]
    used = register(client).json()["client_id"]
    Application.objects.update(created=timezone.now() - timedelta(days=2))
    AccessToken.objects.create(
        user=UserFactory(),
        application=Application.objects.get(client_id=used),
        token_checksum="0" * 64,
        expires=timezone.now() + timedelta(hours=1),
        scope="tools:read",
    )

    assert clients.prune_unused_clients() != {"deleted": 0}
    assert not Application.objects.filter(client_id=registered).exists()
    assert Application.objects.filter(client_id=used).exists()


def test_the_periodic_job_prunes_expired_tokens_and_unused_clients(client):
    from mcpserver import tasks

    register(client)
    Application.objects.update(created=timezone.now() - timedelta(days=2))
    assert tasks.prune_mcp_clients()["deleted"] >= 1
    assert not Application.objects.exists()
