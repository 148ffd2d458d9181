"""The catalog for people who set providers up: GET /api/v1/providers and the set-up page
list every provider with where to register, the redirect URI, the scopes the tools need,
the per-connection settings and the tools."""

from __future__ import annotations

from connections.providers import providers


def test_the_api_lists_eleven_providers_and_their_tools(api):
    response = api.get("/api/v1/providers")
    assert response.status_code == 200
    catalog = {p["key"]: p for p in response.json()["results"]}
    assert response.json()["next_cursor"] is None
    assert len(catalog) == 11 and sum(len(p["tools"]) for p in catalog.values()) >= 75
    github = catalog["github"]
    assert github["redirect_uri"] == "http://testserver/oauth/callback/github/"
    assert github["register_url"].startswith("https://github.com/")
    assert "repo" in github["scopes_needed_by_tools"]
    assert {s["name"] for s in catalog["microsoft"]["settings"]} == {"tenant"}
    assert catalog["salesforce"]["settings"][0]["default"] == "login.salesforce.com"
    assert all(t["write"] in (True, False) for p in catalog.values() for t in p["tools"])


def test_members_may_read_the_catalog_too(member_client):
    assert member_client.get("/api/v1/providers").status_code == 200


def test_the_set_up_page_shows_the_guide_and_the_providers_settings(owner_client):
    listing = owner_client.get("/connections/").content.decode()
    for provider in providers().values():
        assert f"/connections/new/{provider.key}/" in listing
    page = owner_client.get("/connections/new/microsoft/").content.decode()
    assert 'name="setting_tenant"' in page and "http://testserver/oauth/callback/microsoft/" in page
    assert "Calendars.ReadWrite" in page and "entra.microsoft.com" in page
    assert owner_client.get("/connections/new/nope/").status_code == 404


def test_a_connection_with_settings_is_created_from_the_page(owner_client):
    response = owner_client.post(
        "/connections/new/microsoft/",
        {
            "name": "m365",
            "client_id": "cid",
            "client_secret": "s",
            "enabled": "on",
            "setting_tenant": "organizations",
        },
    )
    assert response.status_code == 302
    page = owner_client.get("/connections/m365/").content.decode()
    assert 'value="organizations"' in page
    refused = owner_client.post(
        "/connections/new/microsoft/",
        {"name": "bad", "client_id": "cid", "setting_tenant": "../../evil"},
    )
    assert refused.status_code == 200 and "is not valid" in refused.content.decode()


def test_the_guide_lists_the_scopes_a_new_connection_asks_for(owner_client, api):
    monday = providers()["monday"]
    page = owner_client.get("/connections/new/monday/").content.decode()
    assert " ".join(sorted(monday.default_scopes)) in page  # users:read workspaces:read too
    listed = {p["key"]: p for p in api.get("/api/v1/providers").json()["results"]}
    assert listed["monday"]["requested_scopes"] == sorted(monday.default_scopes)
