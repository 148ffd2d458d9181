"""DESIGN §13, rules 21 and 22, over every outbound surface: provider calls (as the user,
through the proxy and the token endpoint's transport), the model client (the server-wide
URL shared by every organization, and an organization's own URL), the webhook sender and
the MCP client metadata fetcher.

21. No state crosses calls on a shared client: a peer that sets cookies on every answer
    never gets one back — not from the same tenant, not from another — and the shared
    clients' jars stay empty.
22. One total deadline per outbound call: a peer that drips its answer one byte at a time
    (in the body, or from the status line on) is cut off when the call's budget is spent,
    not after a per-read timeout times the number of bytes.
"""

from __future__ import annotations

import time
from contextlib import contextmanager

import pytest
from oauth2_provider.cimd import CIMDError

from agents import configuration, llm
from connections import proxy
from connections.configuration import create_connection
from connections.models import ConnectedAccount
from core import outbound
from core.outbound import OutboundError
from mcpserver.clients import GuardedMetadataFetcher
from tests.callers import as_identifier
from tests.factories import active_account
from tests.fakes.seams import SeamPeer
from tests.fakes.tls import local_tls
from webhooks import delivery

pytestmark = pytest.mark.django_db(transaction=True)

MESSAGES = [{"role": "user", "content": "hi"}]


@pytest.fixture
def peer():
    with SeamPeer() as server:
        yield server
    outbound.close_clients()


@pytest.fixture
def tls_peer(settings, tmp_path):
    """The peer over https (client metadata documents must be), trusted through
    EGRESS_CA_FILE as an on-premises CA would be."""
    context, ca_file = local_tls(tmp_path)
    settings.EGRESS_CA_FILE = str(ca_file)
    outbound.close_clients()
    server = SeamPeer()
    server.tls = context
    with server:
        yield server
    outbound.close_clients()


def _tenant(org, peer, name: str = "crm") -> ConnectedAccount:
    """An organization's connection whose API is the peer, and an account on it."""
    connection = create_connection(
        org=org,
        name=name,
        provider="monday",
        client_id="client",
        client_secret="secret",
        api_base_url=f"{peer.origin}/v2",
    )
    return active_account(connection, f"person-of-{org.slug}", access_token=f"token-of-{org.slug}")


def _as_user(account: ConnectedAccount) -> dict:
    return proxy.proxy_request(
        caller=as_identifier(account.organization, account.identifier),
        connection_name=account.connection.name,
        method="GET",
        path="/me",
    )


def _agent(org, **fields):
    name = f"agent of {org.slug} {'own' if fields else 'shared'}"
    return configuration.create_agent(org=org, name=name, **fields)


@contextmanager
def within(seconds: float):
    started = time.monotonic()
    yield
    took = time.monotonic() - started
    assert took < seconds, f"took {took:.1f} s"


class TestNoStateCrossesCalls:
    """Rule 21."""

    def test_provider_calls_of_two_tenants_share_no_cookie(self, org, other_org, peer):
        first, second = _tenant(org, peer), _tenant(other_org, peer)
        for account in (first, second, first, second):
            assert _as_user(account)["status"] == 200
        assert len(peer.cookies) == 4
        assert peer.requests_with_cookies() == []
        assert len(outbound.client().cookies.jar) == 0
        # Each call carried its own tenant's credentials, and nothing of the call before.
        assert peer.authorizations == ["token-of-acme", "token-of-globex"] * 2

    def test_the_shared_model_client_carries_no_cookie_between_organizations(
        self, org, other_org, peer, settings
    ):
        settings.OPENAI_BASE_URL = f"{peer.origin}/v1"
        settings.OPENAI_API_KEY = "sk-server-wide"
        agents = [_agent(org), _agent(other_org)]
        clients = {id(llm.client_for(agent)) for agent in agents}
        assert len(clients) == 1  # one process-wide client serves both organizations
        for agent in agents * 2:
            assert llm.complete(llm.client_for(agent), agent, MESSAGES, llm.Offer([])).message
        assert peer.requests_with_cookies() == []
        assert len(llm.client_for(agents[0])._client.cookies.jar) == 0

    def test_an_organizations_own_model_url_carries_no_cookie_either(self, org, peer):
        agent = _agent(org, base_url=f"{peer.origin}/v1", api_key="sk-of-acme")
        for _ in range(3):
            llm.complete(llm.client_for(agent), agent, MESSAGES, llm.Offer([]))
        assert peer.requests_with_cookies() == []

    def test_webhook_deliveries_carry_no_cookie(self, peer):
        for _ in range(3):
            answer = delivery.post(f"{peer.origin}/hooks", "{}", {"webhook-id": "m"})
            assert answer.delivered
        assert peer.requests_with_cookies() == []

    def test_metadata_fetches_carry_no_cookie(self, tls_peer):
        fetcher = GuardedMetadataFetcher()
        for n in range(3):
            document, _ = fetcher.fetch(f"{tls_peer.origin}/client.json?n={n}")
            assert document["client_name"] == "Seam client"
        assert tls_peer.requests_with_cookies() == []


class TestOneTotalDeadline:
    """Rule 22: one byte every 0.4 s would take over a minute; each call ends at ~1 s."""

    @pytest.fixture(params=["body", "headers"])
    def dripping(self, request, peer):
        peer.drip = 0.4
        peer.drip_headers = request.param == "headers"
        return peer

    def test_a_provider_call(self, org, dripping, settings):
        settings.PROVIDER_HTTP_TIMEOUT_SECONDS = 1
        account = _tenant(org, dripping)
        with within(3), pytest.raises(OutboundError) as failed:
            _as_user(account)
        assert failed.value.code == "provider_timeout"

    def test_a_model_call(self, org, dripping, settings):
        settings.OPENAI_BASE_URL = f"{dripping.origin}/v1"
        settings.OPENAI_API_KEY = "sk-server-wide"
        settings.OPENAI_TIMEOUT_SECONDS = 1
        settings.OPENAI_MAX_RETRIES = 0
        agent = _agent(org)
        with within(3), pytest.raises(llm.ModelError, match="in time"):
            llm.complete(llm.client_for(agent), agent, MESSAGES, llm.Offer([]))

    def test_a_webhook_delivery(self, dripping, settings):
        settings.WEBHOOK_TIMEOUT_SECONDS = 1
        with within(3):
            answer = delivery.post(f"{dripping.origin}/hooks", "{}", {"webhook-id": "m"})
        assert not answer.delivered and "in time" in answer.error

    def test_a_metadata_fetch(self, tls_peer, settings):
        settings.OAUTH2_PROVIDER = {**settings.OAUTH2_PROVIDER, "CIMD_FETCH_TIMEOUT_SECONDS": 1}
        tls_peer.drip = 0.4
        with within(3), pytest.raises(CIMDError):
            GuardedMetadataFetcher().fetch(f"{tls_peer.origin}/client.json")

    def test_every_outbound_client_reads_its_timeout_as_a_total(self, org, settings, peer):
        """The clients every surface uses are built on the one transport."""
        settings.OPENAI_BASE_URL = f"{peer.origin}/v1"
        settings.OPENAI_API_KEY = "sk-x"
        own = _agent(org, base_url=f"{peer.origin}/v1", api_key="sk-own")
        shared = _agent(org)
        for client in (
            outbound.client(),
            llm.client_for(own)._client,
            llm.client_for(shared)._client,
        ):
            assert isinstance(client._transport, outbound.OutboundTransport)
            assert not client.follow_redirects


def test_a_stale_deadline_never_leaks_into_the_next_call(org, peer, settings):
    """The deadline belongs to one request: a later call on a kept-alive connection gets
    its own budget."""
    settings.PROVIDER_HTTP_TIMEOUT_SECONDS = 1
    account = _tenant(org, peer)
    assert _as_user(account)["status"] == 200
    time.sleep(1.2)  # longer than the first call's whole budget
    assert _as_user(account)["status"] == 200
