"""DESIGN §13 rule 22 for the fetches anyone can start without signing in: client
metadata documents. Each fetch has one total deadline, and one source address holds at
most MCP_METADATA_FETCHES_PER_ADDRESS fetches at once — so one address dripping slow
documents cannot take the slots other people's new MCP clients need to sign in."""

from __future__ import annotations

import threading
import time

import pytest
from oauth2_provider.models import Application

from core import outbound
from tests.fakes.seams import REDIRECT_URI, SeamPeer
from tests.fakes.tls import local_tls
from tests.fixtures import signed_in

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def peers(settings, tmp_path):
    context, ca_file = local_tls(tmp_path)
    settings.EGRESS_CA_FILE = str(ca_file)
    settings.MCP_METADATA_FETCHES_PER_ADDRESS = 2
    settings.OAUTH2_PROVIDER = {**settings.OAUTH2_PROVIDER, "CIMD_FETCH_TIMEOUT_SECONDS": 3}
    outbound.close_clients()
    slow, fast = SeamPeer(), SeamPeer()
    slow.tls = fast.tls = context
    slow.drip = 0.3
    with slow, fast:
        yield slow, fast
    outbound.close_clients()


def _authorize(client, client_id: str, address: str):
    return client.get(
        "/oauth2/authorize/",
        {
            "client_id": client_id,
            "response_type": "code",
            "redirect_uri": REDIRECT_URI,
            "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            "code_challenge_method": "S256",
            "resource": "http://testserver/mcp",
        },
        REMOTE_ADDR=address,
    )


def test_one_address_cannot_hold_the_slots_others_need(member, peers, settings):
    settings.MCP_RESOURCE_URL = "http://testserver/mcp"
    slow, fast = peers
    hogging = [
        threading.Thread(
            target=_authorize,
            args=(signed_in(member), f"{slow.origin}/client.json?n={n}", "203.0.113.7"),
        )
        for n in range(2)
    ]
    for thread in hogging:
        thread.start()
    deadline = time.monotonic() + 5
    while len(slow.cookies) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(slow.cookies) == 2  # both slots of that address are taken

    third = _authorize(signed_in(member), f"{fast.origin}/client.json?from=same", "203.0.113.7")
    assert third.status_code == 400 and fast.cookies == []  # refused without a fetch
    other = _authorize(signed_in(member), f"{fast.origin}/client.json?from=other", "198.51.100.9")
    assert other.status_code == 200, other.content.decode()[:500]
    assert Application.objects.filter(client_id=f"{fast.origin}/client.json?from=other").exists()

    started = time.monotonic()
    for thread in hogging:
        thread.join(10)
    assert time.monotonic() - started < 4  # the slow fetches ended at their deadline
    # Refused for capacity is not a failure: the same client may sign in right after.
    again = _authorize(signed_in(member), f"{fast.origin}/client.json?from=same", "203.0.113.7")
    assert again.status_code == 200
