"""DESIGN §13 rule 25: the authorization server issues only what it advertises. Grant
types, redirect URIs and scopes pass one validation on every path — registration (RFC
7591), registration update (RFC 7592), client metadata documents, the admin's page and
the token endpoint — before any credential is looked at. Also: codes are kept as hashes,
and a replayed code revokes the tokens of its first use (RFC 6749 §4.1.2)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx2
import pytest
from django.core.exceptions import ValidationError
from oauth2_provider.models import AccessToken, Application, Grant, RefreshToken
from oauth2_provider.settings import oauth2_settings

from audit.models import AuditEvent
from core.errors import Invalid
from mcpserver import clients
from tests.callers import as_member
from tests.factories import PASSWORD
from tests.mcp_support import REDIRECT_URI, bearer, register, sign_in, use_tools

pytestmark = pytest.mark.django_db(transaction=True)

ADVERTISED = {
    "authorization_code",
    "refresh_token",
    "urn:ietf:params:oauth:grant-type:jwt-bearer",  # ID-JAG only (tests/identity/test_id_jag.py)
}
OTHER_GRANTS = [
    "password",
    "client_credentials",
    "implicit",
    "urn:ietf:params:oauth:grant-type:device_code",
    "urn:ietf:params:oauth:grant-type:token-exchange",
    "",
    "PASSWORD",
]


def test_the_metadata_advertises_exactly_what_is_issued(client):
    metadata = client.get("/.well-known/oauth-authorization-server").json()
    assert set(metadata["grant_types_supported"]) == ADVERTISED == clients.supported_grant_types()
    assert metadata["response_types_supported"] == ["code"]


def test_other_grant_types_get_one_answer_whatever_the_credentials(client, owner):
    """The password grant was an oracle: a wrong password said invalid_grant, a right one
    unauthorized_client. Now every such request gets the same answer, and no password is
    ever checked (a checked wrong password would be audited as a failed sign-in)."""
    confidential = register(
        client, token_endpoint_auth_method="client_secret_basic", client_name="Confidential"
    ).json()
    public_id = register(client).json()["client_id"]
    answers = set()
    for grant_type in OTHER_GRANTS:
        for form in (
            {"username": owner.user.email, "password": PASSWORD, "client_id": public_id},
            {"username": owner.user.email, "password": "wrong", "client_id": public_id},
            {
                "client_id": confidential["client_id"],
                "client_secret": confidential["client_secret"],
            },
            {"client_id": "nobody", "client_secret": "nothing"},
            {},
        ):
            answer = client.post("/oauth2/token/", {"grant_type": grant_type, **form})
            answers.add((answer.status_code, answer.content))
    assert len(answers) == 1, answers
    status, body = answers.pop()
    assert status == 400 and b'"unsupported_grant_type"' in body
    # Only the two registrations' own RFC 7592 tokens exist: nothing was issued.
    assert not AccessToken.objects.exclude(scope=oauth2_settings.DCR_REGISTRATION_SCOPE).exists()
    assert not AuditEvent.objects.filter(action="account.sign_in_failed").exists()


@pytest.mark.parametrize(
    "metadata",
    [
        {"grant_types": ["client_credentials"]},
        {"grant_types": ["password"]},
        {"grant_types": ["implicit"]},
        {"grant_types": ["authorization_code", "client_credentials"]},
        {"grant_types": ["refresh_token"]},
        {"grant_types": "authorization_code"},
        {"response_types": ["token"]},
        {"scope": "tools:read admin"},
        {"redirect_uris": ["http://evil.example/cb"]},
        {"redirect_uris": ["https://ok.example/cb#fragment"]},
        {"redirect_uris": ["javascript://x"]},
        {"token_endpoint_auth_method": "private_key_jwt"},
    ],
    ids=str,
)
def test_registration_refuses_what_the_server_does_not_issue(client, metadata):
    answer = register(client, **metadata)
    assert answer.status_code == 400, answer.content
    assert answer.json()["error"] in {"invalid_client_metadata", "invalid_redirect_uri"}
    assert not Application.objects.exists()


@pytest.mark.parametrize(
    "metadata",
    [
        {"redirect_uris": ["http://evil.example/cb"]},
        {"grant_types": ["client_credentials"]},
        {"grant_types": ["authorization_code", "password"]},
        {"scope": "everything"},
    ],
    ids=str,
)
def test_a_registration_update_passes_the_same_rule(client, metadata):
    registered = register(client).json()
    path = f"/oauth2/register/{registered['client_id']}/"
    body = {
        "client_name": "Registered",
        "redirect_uris": [REDIRECT_URI],
        "grant_types": ["authorization_code", "refresh_token"],
        "token_endpoint_auth_method": "none",
        **metadata,
    }
    answer = client.put(
        path,
        body,
        content_type="application/json",
        headers={"Authorization": f"Bearer {registered['registration_access_token']}"},
    )
    assert answer.status_code == 400, answer.content
    application = Application.objects.get(client_id=registered["client_id"])
    assert application.redirect_uris == REDIRECT_URI
    assert application.authorization_grant_type == Application.GRANT_AUTHORIZATION_CODE
    # Checked before the registration token: a bad body never reaches it.
    unauthenticated = client.put(path, body, content_type="application/json")
    assert unauthenticated.status_code == 400


def test_a_valid_registration_update_still_works(client):
    registered = register(client).json()
    answer = client.put(
        f"/oauth2/register/{registered['client_id']}/",
        {
            "client_name": "Renamed",
            "redirect_uris": ["https://app.example/cb"],
            "grant_types": ["authorization_code", "refresh_token"],
            "token_endpoint_auth_method": "none",
        },
        content_type="application/json",
        headers={"Authorization": f"Bearer {registered['registration_access_token']}"},
    )
    assert answer.status_code == 200, answer.content
    assert Application.objects.get(client_id=registered["client_id"]).name == "Renamed"


def test_no_path_can_store_a_client_of_another_grant_type(owner):
    """The last line: a row of another grant type, or with a bad redirect URI, is refused
    whichever code writes it."""
    for grant in (Application.GRANT_CLIENT_CREDENTIALS, Application.GRANT_PASSWORD):
        with pytest.raises(ValidationError):
            Application.objects.create(
                name="x",
                client_type=Application.CLIENT_CONFIDENTIAL,
                authorization_grant_type=grant,
                redirect_uris=REDIRECT_URI,
            )
    with pytest.raises(ValidationError):
        Application.objects.create(
            name="x",
            client_type=Application.CLIENT_PUBLIC,
            authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
            redirect_uris="http://evil.example/cb",
        )
    with pytest.raises(Invalid):
        clients.register_client(
            caller=as_member(owner),
            name="Admin's",
            redirect_uris=["http://evil.example/cb"],
            confidential=False,
        )
    assert not Application.objects.exists()


def test_a_metadata_document_naming_another_grant_type_registers_nothing(settings):
    with pytest.raises(Exception, match="grant type"):
        clients.check_client_metadata(
            {"redirect_uris": [REDIRECT_URI], "grant_types": ["client_credentials"]},
            public_only=True,
        )
    with pytest.raises(clients.ClientMetadataError):
        clients.check_client_metadata(
            {"redirect_uris": [REDIRECT_URI], "token_endpoint_auth_method": "client_secret_post"},
            public_only=True,
        )


def test_codes_are_stored_as_hashes_and_a_replayed_code_revokes_its_tokens(
    alice, boards, live_portal
):
    storage, consent, _ = sign_in(live_portal, alice, organization="acme")
    code = parse_qs(urlsplit(consent.redirects[0]).query)["code"][0]
    assert not Grant.objects.filter(code=code).exists()  # never stored as it is
    headers = bearer(storage.tokens.access_token)
    assert use_tools(live_portal.mcp_url, headers=headers).names

    replay = httpx2.post(
        f"{live_portal.origin}/oauth2/token/",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "client_id": storage.client_info.client_id,
            "redirect_uri": REDIRECT_URI,
            "code_verifier": "x" * 43,
        },
    )
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
    listing = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    assert httpx2.post(live_portal.mcp_url, headers=headers, json=listing).status_code == 401
    refreshed = httpx2.post(
        f"{live_portal.origin}/oauth2/token/",
        data={
            "grant_type": "refresh_token",
            "refresh_token": storage.tokens.refresh_token,
            "client_id": storage.client_info.client_id,
        },
    )
    assert refreshed.status_code == 400
    assert not RefreshToken.objects.filter(revoked__isnull=True, user=alice.user).exists()
    assert AuditEvent.objects.filter(action="mcp.code_replayed").count() == 1
