"""Links leave the portal with its public base URL: PORTAL_BASE_URL, or the request's own
host when it is unset — never a guessed 127.0.0.1:8000 (start-up refuses to run with
DEBUG off and no PORTAL_BASE_URL: tests/portal/test_settings.py)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.exceptions import ImproperlyConfigured

from connections import authorization, tools
from connections.errors import NeedsReauthorization
from connections.models import ConnectedAccount
from tests.callers import as_identifier


def test_api_links_and_redirect_uris_use_the_public_base_url(
    api, monday_connection, settings, member
):
    settings.PORTAL_BASE_URL = "https://portal.example.com"
    body = {"connection_name": "monday", "identifier": member.user.identifier}
    link = api.post("/api/v1/connected-accounts/authorization-link", body, format="json").json()
    assert link["link"].startswith("https://portal.example.com/oauth/authorize/")
    location = api.get(urlsplit(link["link"]).path)["Location"]
    redirect_uri = parse_qs(urlsplit(location).query)["redirect_uri"][0]
    assert redirect_uri == "https://portal.example.com/oauth/callback/monday/"


def test_without_a_base_url_links_follow_the_requests_host(
    api, monday_connection, settings, member
):
    settings.PORTAL_BASE_URL = ""
    settings.ALLOWED_HOSTS = ["portal.acme.test"]
    body = {"connection_name": "monday", "identifier": member.user.identifier}
    response = api.post(
        "/api/v1/connected-accounts/authorization-link",
        body,
        format="json",
        HTTP_HOST="portal.acme.test",
    )
    assert response.json()["link"].startswith("http://portal.acme.test/oauth/authorize/")
    assert "127.0.0.1" not in response.content.decode()


def test_a_reconnect_link_made_without_a_request_uses_the_base_url(org, alice, monday, settings):
    settings.PORTAL_BASE_URL = "https://portal.example.com"
    monday.revoke_all_for_user(101)
    with pytest.raises(NeedsReauthorization) as raised:
        tools.execute_tool(
            caller=as_identifier(org, alice.user.identifier), tool_name="monday_get_me", params={}
        )
    assert raised.value.details["authorization_link"].startswith("https://portal.example.com/")


def test_without_a_base_url_or_a_request_no_link_is_guessed(org, alice, settings):
    settings.PORTAL_BASE_URL = ""
    account = ConnectedAccount.objects.get()
    with pytest.raises(ImproperlyConfigured):
        authorization.reconnect_link(account=account)


def test_a_reconnect_link_is_reused_not_inserted_on_every_failure(org, alice, settings):
    account = ConnectedAccount.objects.select_related("connection", "organization").get()
    first = authorization.reconnect_link(account=account)
    assert authorization.reconnect_link(account=account) == first
    widened = authorization.reconnect_link(account=account, extra_scopes=("docs:read",))
    assert widened != first
