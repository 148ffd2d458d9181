"""Enterprise-managed agent access (ID-JAG, Cross App Access): the company's identity
provider — an emulator that signs real JWTs and performs the RFC 8693 token exchange —
decides that an agent may reach the portal's MCP server for a person; the portal's
authorization server accepts the assertion with the JWT bearer grant (RFC 7523), issues
an MCP access token without a consent screen, and the MCP SDK client uses it. Every
bent claim is refused; tokens die with the grant and the membership like consented
ones; organizations that trust no provider issue nothing."""

from __future__ import annotations

import time
import uuid

import httpx2
import pytest
from django.test import Client

from audit.models import AuditEvent
from identity import trust
from mcpserver.models import McpConnection
from tests.callers import as_member
from tests.fakes.enterprise_idp import ID_JAG_TYPE, ID_TOKEN_TYPE, TOKEN_EXCHANGE, EnterpriseIdp
from tests.fixtures import signed_in
from tests.mcp_support import bearer, register, use_tools

pytestmark = pytest.mark.django_db(transaction=True)

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
ALICE_AT_IDP = "00u-alice"


@pytest.fixture
def idp():
    with EnterpriseIdp() as server:
        yield server


@pytest.fixture
def agent_client(live_portal, idp) -> str:
    """An MCP client registered at the portal (RFC 7591), known to the provider."""
    registered = register(Client()).json()  # its ordinary registration serves both grants
    idp.client_at_portal = registered["client_id"]
    return registered["client_id"]


@pytest.fixture
def trusted(owner, idp, live_portal):
    return trust.add_issuer(caller=as_member(owner), issuer=idp.issuer)


def exchange_at_idp(idp, live_portal, sub: str = ALICE_AT_IDP, **form) -> str:
    """The agent trades the person's ID token for an ID-JAG (RFC 8693), at the provider."""
    answer = httpx2.post(
        f"{idp.origin}/token",
        data={
            "grant_type": TOKEN_EXCHANGE,
            "requested_token_type": ID_JAG_TYPE,
            "subject_token": idp.id_token(sub),
            "subject_token_type": ID_TOKEN_TYPE,
            "audience": live_portal.origin,
            "resource": live_portal.mcp_url,
            "scope": "tools:read tools:write",
        }
        | form,
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["issued_token_type"] == ID_JAG_TYPE
    return answer.json()["access_token"]


def redeem(live_portal, assertion: str, client_id: str) -> httpx2.Response:
    return httpx2.post(
        f"{live_portal.origin}/oauth2/token/",
        data={"grant_type": JWT_BEARER, "assertion": assertion, "client_id": client_id},
    )


def test_the_metadata_advertises_the_jwt_bearer_grant(live_portal):
    metadata = httpx2.get(f"{live_portal.origin}/.well-known/oauth-authorization-server").json()
    assert JWT_BEARER in metadata["grant_types_supported"]


def test_an_assertion_from_the_trusted_provider_gets_mcp_access_without_consent(
    alice, owner, boards, idp, trusted, agent_client, live_portal
):
    idp.add_person(ALICE_AT_IDP, alice.user.email)
    answer = redeem(live_portal, exchange_at_idp(idp, live_portal), agent_client)

    assert answer.status_code == 200, answer.text
    token = answer.json()
    assert "refresh_token" not in token  # a new token needs a new assertion
    assert set(token["scope"].split()) == {"tools:read", "tools:write"}
    outcome = use_tools(live_portal.mcp_url, headers=bearer(token["access_token"]))
    assert "monday_get_me" in outcome.names
    grant = McpConnection.objects.get(user=alice.user)
    assert grant.organization == alice.organization and grant.revoked_at is None
    authorized = AuditEvent.objects.get(action="mcp.authorized")
    assert authorized.metadata["how"] == "id_jag" and authorized.metadata["issuer"] == idp.issuer

    # The member leaves: the token dies with the grant, as a consented one does.
    assert signed_in(owner).post(f"/members/{alice.pk}/remove/").status_code == 302
    gone = httpx2.post(
        live_portal.mcp_url,
        headers=bearer(token["access_token"]),
        json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
    )
    assert gone.status_code == 401


def _bent(idp, live_portal, **claims) -> str:
    idp.overrides = claims
    try:
        return exchange_at_idp(idp, live_portal)
    finally:
        idp.overrides = {}


@pytest.mark.parametrize(
    ("bend", "reason"),
    [
        ({"aud": "https://another-portal.example"}, "another authorization server"),
        ({"resource": "https://another-portal.example/mcp"}, "not for this MCP server"),
        ({"exp": -120}, "expired"),  # seconds from now
        ({"exp": 86400}, "lives too long"),
        ({"client_id": "some-other-client"}, "another client"),
        ({"email": "stranger@elsewhere.example", "sub": "00u-stranger"}, "nobody who is a member"),
        ({"jti": None}, "no jti"),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_bent_assertions_are_refused_and_audited(
    alice, idp, trusted, agent_client, live_portal, bend, reason
):
    idp.add_person(ALICE_AT_IDP, alice.user.email)
    if "exp" in bend:
        bend = {"exp": int(time.time()) + bend["exp"]}
    answer = redeem(live_portal, _bent(idp, live_portal, **bend), agent_client)
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_grant"
    assert reason in answer.json()["error_description"]
    refused = AuditEvent.objects.get(action="mcp.assertion_refused")
    assert refused.organization == alice.organization and reason in refused.metadata["reason"]
    assert not McpConnection.objects.exists()


def test_a_replayed_assertion_is_refused(alice, idp, trusted, agent_client, live_portal):
    idp.add_person(ALICE_AT_IDP, alice.user.email)
    assertion = exchange_at_idp(idp, live_portal)
    assert redeem(live_portal, assertion, agent_client).status_code == 200
    again = redeem(live_portal, assertion, agent_client)
    assert again.status_code == 400 and "already used" in again.json()["error_description"]


def test_untrusted_issuers_wrong_types_and_forged_signatures_are_refused(
    alice, idp, trusted, agent_client, live_portal
):
    idp.add_person(ALICE_AT_IDP, alice.user.email)
    now = int(time.time())
    claims = {
        "iss": idp.issuer,
        "sub": ALICE_AT_IDP,
        "email": alice.user.email,
        "aud": live_portal.origin,
        "resource": live_portal.mcp_url,
        "client_id": agent_client,
        "scope": "tools:read",
        "iat": now,
        "exp": now + 300,
    }
    with EnterpriseIdp() as impostor:  # same claims, another provider's key
        forged = impostor.sign_id_jag(claims | {"jti": uuid.uuid4().hex})
        untrusted = impostor.sign_id_jag(claims | {"iss": impostor.issuer, "jti": "x"})
    cases = {
        forged: "signature does not verify",
        untrusted: "not trusted",
        idp.sign_id_jag(claims | {"jti": "y"}, typ="JWT"): "typ",
        "not-a-jwt": "not a JWT",
    }
    for assertion, reason in cases.items():
        answer = redeem(live_portal, assertion, agent_client)
        assert answer.status_code == 400, reason
        assert reason in answer.json()["error_description"], answer.json()
    assert not McpConnection.objects.exists()


def test_an_organization_that_trusts_no_provider_issues_nothing(
    alice, idp, agent_client, live_portal
):
    idp.add_person(ALICE_AT_IDP, alice.user.email)
    answer = redeem(live_portal, exchange_at_idp(idp, live_portal), agent_client)
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_grant"
    assert not McpConnection.objects.exists()


def test_a_trusted_provider_belongs_to_one_organization(owner, other_owner, idp, live_portal):
    trust.add_issuer(caller=as_member(owner), issuer=idp.issuer)
    with pytest.raises(Exception, match="already trusted"):
        trust.add_issuer(caller=as_member(other_owner), issuer=idp.issuer)


def test_a_rotated_provider_key_is_fetched_once_when_first_seen(
    alice, idp, trusted, agent_client, live_portal
):
    from joserfc.jwk import RSAKey

    from identity.models import TrustedIssuer

    idp.add_person(ALICE_AT_IDP, alice.user.email)
    idp.key = RSAKey.generate_key(2048, parameters={"kid": "idp-key-2", "use": "sig"})
    assertion = exchange_at_idp(idp, live_portal)
    # Keys fetched a moment ago: an unknown key id does not make the portal fetch again.
    refused = redeem(live_portal, assertion, agent_client)
    assert refused.status_code == 400 and "signature" in refused.json()["error_description"]

    TrustedIssuer.objects.update(jwks_fetched_at=None)  # as if fetched long ago
    answer = redeem(live_portal, exchange_at_idp(idp, live_portal), agent_client)
    assert answer.status_code == 200, answer.text
    assert "idp-key-2" in str(TrustedIssuer.objects.get().jwks)


def test_the_organizations_mcp_settings_bound_what_an_assertion_gets(
    alice, idp, trusted, agent_client, live_portal
):
    from mcpserver.models import McpPolicy

    idp.add_person(ALICE_AT_IDP, alice.user.email)
    McpPolicy.objects.update_or_create(
        organization=alice.organization, defaults={"allowed_client_ids": ["another-client"]}
    )
    answer = redeem(live_portal, exchange_at_idp(idp, live_portal), agent_client)
    assert (
        answer.status_code == 400 and "does not let this app" in answer.json()["error_description"]
    )
    assert AuditEvent.objects.filter(action="mcp.assertion_refused").exists()
    assert not McpConnection.objects.exists()
