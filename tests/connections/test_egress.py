"""DESIGN §9 and §12 rule 19: every tenant-chosen URL passes the egress policy — when it is
saved (422 with the reason) and again when the portal connects (502 `egress_refused`,
nothing changed). No redirects, bounded answers, no socket messages echoed back.

The tests run with loopback allowed (EGRESS_ALLOW_PRIVATE, as `make run` does); the
cases below take that allowance away.
"""

from __future__ import annotations

import socket
import threading
from datetime import timedelta

import pytest
from django.utils import timezone

from connections import tokens, tools
from connections.errors import EgressBlocked, ProviderUnavailable
from connections.models import AccountStatus, ConnectedAccount, Connection
from core import egress, outbound
from tests.callers import as_identifier
from tests.fakes.scripted import ScriptedServer

REFUSED = [
    "https://127.0.0.1/x",
    "https://localhost/x",
    "https://10.1.2.3/x",
    "https://172.16.0.5/x",
    "https://192.168.1.1/x",
    "https://169.254.169.254/latest/meta-data",
    "https://100.64.0.1/x",
    "https://224.0.0.1/x",
    "https://0.0.0.0/x",
    "https://[::1]/x",
    "https://[fc00::1]/x",
    "https://[fe80::1]/x",
    "https://[::ffff:127.0.0.1]/x",
    "https://[2002:7f00:1::1]/x",  # 6to4 of 127.0.0.1
    "https://[64:ff9b::a00:1]/x",  # NAT64 of 10.0.0.1
    "https://2130706433/x",  # 127.0.0.1 as one number
    "https://0x7f.1/x",  # 127.0.0.1 in hex shorthand
    "https://metadata.google.internal/computeMetadata/v1/",
]


@pytest.fixture
def no_private(settings):
    settings.EGRESS_ALLOW_PRIVATE = []
    # Connections kept alive from when loopback was allowed must not outlive that allowance
    # (in production the setting does not change while a process runs).
    outbound.close_clients()
    yield
    outbound.close_clients()


@pytest.mark.parametrize("url", REFUSED)
def test_private_destinations_are_refused_when_saved(api, org, url, no_private):
    body = {"name": "m", "provider": "monday", "client_id": "c", "api_base_url": url}
    response = api.post("/api/v1/connections", body, format="json")
    assert response.status_code == 422, response.json()
    assert response.json()["error"]["code"] in ("url_not_allowed", "insecure_url")
    agent = api.post(
        "/api/v1/agents", {"name": "a", "base_url": url, "api_key": "sk-x"}, format="json"
    )
    assert agent.status_code == 422, agent.json()
    assert not Connection.objects.exists()


@pytest.mark.parametrize("field", ["authorization_url", "token_url", "revoke_url", "api_base_url"])
def test_every_endpoint_override_is_checked(api, org, field, no_private):
    body = {"name": "m", "provider": "monday", "client_id": "c", field: "https://10.0.0.8/t"}
    response = api.post("/api/v1/connections", body, format="json")
    assert response.status_code == 422
    assert response.json()["error"]["details"]["field"] == field


def test_plain_http_needs_an_explicit_allowance(api, org, settings):
    settings.EGRESS_ALLOW_PRIVATE = []
    body = {"name": "m", "provider": "monday", "client_id": "c"}
    refused = api.post(
        "/api/v1/connections", body | {"api_base_url": "http://127.0.0.1:9/v2"}, format="json"
    )
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "insecure_url"
    settings.EGRESS_ALLOW_PRIVATE = ["127.0.0.0/8"]
    allowed = api.post(
        "/api/v1/connections", body | {"api_base_url": "http://127.0.0.1:9/v2"}, format="json"
    )
    assert allowed.status_code == 201


def test_an_allowance_by_host_name(api, org, settings):
    settings.EGRESS_ALLOW_PRIVATE = ["localhost"]
    body = {
        "name": "m",
        "provider": "monday",
        "client_id": "c",
        "api_base_url": "https://localhost/v2",
    }
    assert api.post("/api/v1/connections", body, format="json").status_code == 201


def test_a_refused_connect_is_502_and_changes_nothing(org, alice, monday, no_private):
    before = len(monday.api.api_requests)
    with pytest.raises(EgressBlocked) as raised:
        tools.execute_tool(
            caller=as_identifier(org, alice.user.identifier), tool_name="monday_get_me", params={}
        )
    assert raised.value.status == 502 and raised.value.code == "egress_refused"
    assert "loopback" in raised.value.message
    assert len(monday.api.api_requests) == before
    assert ConnectedAccount.objects.get().status == AccountStatus.ACTIVE


def test_a_refused_token_endpoint_never_expires_the_account(org, alice, monday, no_private):
    ConnectedAccount.objects.update(
        token_issued_at=timezone.now() - timedelta(hours=1),
        token_expires_at=timezone.now() + timedelta(seconds=10),
    )
    account = ConnectedAccount.objects.get()
    before = len(monday.token_requests)
    with pytest.raises(EgressBlocked):
        tokens.get_access_token(account)
    account.refresh_from_db()
    assert account.status == AccountStatus.ACTIVE and account.token_set_sealed
    assert len(monday.token_requests) == before


def test_dns_that_changes_after_saving_is_caught_at_connect(
    org, alice, monday, monkeypatch, settings
):
    # Saved while the name resolved to a public address; now it resolves to loopback.
    settings.EGRESS_ALLOW_PRIVATE = []
    real = socket.getaddrinfo
    answers = {"rebind.test": "93.184.216.34"}

    def getaddrinfo(host, port, *args, **kwargs):
        if host in answers:
            return real(answers[host], port, *args, **kwargs)
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    port = monday.base_url.rsplit(":", 1)[1]
    egress.check_url(f"https://rebind.test:{port}/v2", field="api_base_url")  # passes
    Connection.objects.update(api_base_url=f"https://rebind.test:{port}/v2")
    answers["rebind.test"] = "127.0.0.1"
    before = len(monday.api.api_requests)
    with pytest.raises(EgressBlocked):
        tools.execute_tool(
            caller=as_identifier(org, alice.user.identifier), tool_name="monday_get_me", params={}
        )
    assert len(monday.api.api_requests) == before


def test_redirects_are_not_followed(org, alice, monday):
    with ScriptedServer() as redirector:
        redirector.answer(302, location=f"{monday.base_url}/v2")
        Connection.objects.update(api_base_url=f"{redirector.origin}/v2")
        before = len(monday.api.api_requests)
        with pytest.raises(ProviderUnavailable) as raised:
            tools.execute_tool(
                caller=as_identifier(org, alice.user.identifier),
                tool_name="monday_get_me",
                params={},
            )
    assert "302" in raised.value.message
    assert len(monday.api.api_requests) == before


def test_answers_over_the_size_limit_are_refused(org, alice, settings):
    settings.PROVIDER_MAX_RESPONSE_BYTES = 50_000
    with ScriptedServer() as huge:
        huge.answer(200, {"data": {"me": {"name": "x" * 100_000}}})
        Connection.objects.update(api_base_url=f"{huge.origin}/v2")
        with pytest.raises(ProviderUnavailable) as raised:
            tools.execute_tool(
                caller=as_identifier(org, alice.user.identifier),
                tool_name="monday_get_me",
                params={},
            )
    assert "larger than 50000 bytes" in raised.value.message


def _hang_up_server() -> tuple[socket.socket, int]:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(5)

    def serve():
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            conn.close()  # accept, then hang up: a ReadError, not a ConnectError

    threading.Thread(target=serve, daemon=True).start()
    return listener, listener.getsockname()[1]


def test_errors_say_the_same_for_closed_and_hung_up_ports(org, alice):
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    closed_port = closed.getsockname()[1]
    closed.close()
    listener, open_port = _hang_up_server()
    messages = []
    try:
        for port in (closed_port, open_port):
            Connection.objects.update(api_base_url=f"http://127.0.0.1:{port}/v2")
            with pytest.raises(ProviderUnavailable) as raised:
                tools.execute_tool(
                    caller=as_identifier(org, alice.user.identifier),
                    tool_name="monday_get_me",
                    params={},
                )
            messages.append((raised.value.code, raised.value.message))
    finally:
        listener.close()
    assert (
        messages[0] == messages[1] == ("provider_unavailable", "monday.com could not be reached.")
    )
