"""DESIGN §13 rule 26: a refused request changes nothing — validation before the first
write, one transaction, events (audit and webhooks) only for what was committed.

The refusals here are the ones decided inside a service, after a request has passed its
serializer: the class that once left a pending account, a success audit event and a
`connected_account.created` webhook behind a 422. The Schemathesis run checks the same
rule for every operation (tests/api/test_schemathesis.py)."""

from __future__ import annotations

import pytest

from connections.models import ConnectedAccount
from tests.callers import as_member
from tests.db_changes import Snapshot
from tests.fakes.webhook_receiver import WebhookReceiver
from tests.fixtures import signed_in
from webhooks import endpoints
from webhooks.models import WebhookEvent

pytestmark = pytest.mark.django_db(transaction=True)

VERIFY_URL = "https://app.customer.example/verify-user"


@pytest.fixture
def subscribed(owner):
    """An endpoint subscribed to every event type: a webhook event would show a leak."""
    with WebhookReceiver() as receiver:
        endpoints.create_endpoint(caller=as_member(owner), url=receiver.url, event_types=[])
        yield receiver


def _link(api, **body):
    return api.post(
        "/api/v1/connected-accounts/authorization-link",
        {"connection_name": "monday", **body},
        format="json",
    )


@pytest.mark.parametrize(
    "body",
    [
        # A portal user's identifier may not be verified by a backend.
        {"identifier": "PORTAL_USER", "user_verify_url": VERIFY_URL},
        # A company identifier needs a verify URL.
        {"identifier": "customer-7"},
        # A verify URL that is not https.
        {"identifier": "customer-7", "user_verify_url": "http://app.example/verify"},
        {"identifier": "customer-7", "user_verify_url": "ftp://app.example/verify"},
    ],
    ids=["portal-identifier", "no-verify-url", "plain-http", "ftp"],
)
def test_a_refused_authorization_link_leaves_nothing_behind(
    api, member, monday_connection, subscribed, body
):
    if body["identifier"] == "PORTAL_USER":
        body = {**body, "identifier": member.user.identifier}
    before = Snapshot.take()
    answer = _link(api, **body)
    assert 400 <= answer.status_code < 500, answer.json()
    assert before.refused_changes() == []
    assert not ConnectedAccount.objects.exists()
    assert not WebhookEvent.objects.exists()


def test_a_signed_in_person_naming_a_verify_url_is_refused_without_traces(
    member, monday_connection, subscribed
):
    browser = signed_in(member)
    before = Snapshot.take()
    answer = browser.post(
        "/api/v1/connected-accounts/authorization-link",
        {"connection_name": "monday", "user_verify_url": VERIFY_URL},
        content_type="application/json",
    )
    assert answer.status_code == 403
    assert before.refused_changes() == []


def test_the_accepted_request_still_writes_once(api, monday_connection, subscribed):
    answer = _link(api, identifier="customer-7", user_verify_url=VERIFY_URL)
    assert answer.status_code == 201
    assert ConnectedAccount.objects.count() == 1
    assert WebhookEvent.objects.filter(type="connected_account.created").count() == 1
