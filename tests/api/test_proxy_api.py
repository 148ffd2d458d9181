"""POST /api/v1/proxy: the provider's API as the user, for what the tools don't cover.

Only paths under the connection's API base, only allowed headers each way, the user's
own token (refreshed once on a 401), audited like a tool call without bodies or query
values.
"""

from __future__ import annotations

import pytest

from audit.models import AuditEvent
from connections import accounts
from connections.models import ConnectedAccount

ME = {"query": "query { me { id name email } }"}


def proxy(api, identifier, **body):
    payload = {"connection_name": "monday", "identifier": identifier, "method": "POST", "path": ""}
    return api.post("/api/v1/proxy", payload | body, format="json")


def test_the_proxy_calls_the_api_as_the_user(api, alice, monday):
    response = proxy(api, alice.user.identifier, body=ME, query={"secret_filter": "s3cr3t"})
    assert response.status_code == 200, response.json()
    answer = response.json()
    assert answer["status"] == 200 and answer["body"]["data"]["me"]["name"] == "Alice"
    assert answer["headers"]["content-type"].startswith("application/json")
    assert monday.api.api_requests[-1]["user"] == 101  # Alice's own token
    done = AuditEvent.objects.get(action="proxy.executed")
    assert done.metadata["method"] == "POST" and done.metadata["status"] == 200
    assert done.metadata["query_keys"] == ["secret_filter"]
    assert "s3cr3t" not in str(done.metadata) and "me {" not in str(done.metadata)
    assert AuditEvent.objects.filter(action="proxy.started", outcome="pending").exists()


def test_provider_errors_come_back_as_they_are(api, alice, monday):
    monday.api.fail_next_api_requests(1, status=503)
    answer = proxy(api, alice.user.identifier, body=ME).json()
    assert answer["status"] == 503 and answer["body"] == "<html>bad gateway</html>"


def test_a_401_refreshes_once_and_retries(api, alice, monday):
    account = ConnectedAccount.objects.get()
    monday.expire_access_token(accounts.token_set(account)["access_token"])
    answer = proxy(api, alice.user.identifier, body=ME).json()
    assert answer["status"] == 200 and monday.refresh_count == 1


@pytest.mark.parametrize(
    "path",
    [
        "../v1",
        "/../../etc/passwd",
        "%2e%2e/x",
        "/a/%2E%2E/%2e%2e/b",
        "//evil.example/x",
        "https://evil.example/x",
        "/x?token=1",
        "/x#frag",
        "/x\\y",
        "/a/./b",
    ],
)
def test_paths_outside_the_api_base_are_refused(api, alice, monday, path):
    before = len(monday.api.api_requests)
    response = proxy(api, alice.user.identifier, path=path, body=ME)
    assert response.status_code == 422, (path, response.json())
    assert len(monday.api.api_requests) == before


def test_only_allowed_headers_are_forwarded(api, alice, monday):
    refused = proxy(api, alice.user.identifier, body=ME, headers={"Cookie": "x=1"})
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "header_not_allowed"
    allowed = proxy(api, alice.user.identifier, body=ME, headers={"API-Version": "2025-01"})
    assert allowed.status_code == 200
    assert monday.api.api_requests[-1]["api_version"] == "2025-01"


def test_a_session_caller_proxies_as_themselves_only(member_client, alice, monday):
    response = member_client.post(
        "/api/v1/proxy",
        {"connection_name": "monday", "method": "POST", "path": "", "body": ME},
        content_type="application/json",
    )
    assert response.status_code == 200 and response.json()["body"]["data"]["me"]["name"] == "Alice"
    named = member_client.post(
        "/api/v1/proxy",
        {"connection_name": "monday", "identifier": "x", "method": "GET", "path": ""},
        content_type="application/json",
    )
    assert named.status_code == 403


def test_no_account_is_404(api, monday_connection):
    response = proxy(api, "nobody-here", body=ME)
    assert response.status_code == 404
