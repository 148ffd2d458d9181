"""GET /api/v1/tools and POST /api/v1/tools/execute."""

from audit.models import AuditEvent


def execute(client, **body):
    return client.post("/api/v1/tools/execute", body, format="json")


def test_an_api_key_lists_the_tools_of_a_connected_identifier(api, alice):
    response = api.get(f"/api/v1/tools?identifier={alice.user.identifier}")
    assert response.status_code == 200
    tool = next(t for t in response.json()["results"] if t["name"] == "monday_create_item")
    assert tool["write"] is True and tool["connection_name"] == "monday"
    assert tool["input_schema"]["required"] == ["board_id", "item_name"]


def test_an_identifier_without_accounts_has_no_tools(api, alice):
    assert api.get("/api/v1/tools?identifier=nobody").json() == {"results": [], "next_cursor": None}


def test_an_api_key_creates_an_item_as_the_user(api, alice, boards):
    response = execute(
        api,
        tool_name="monday_create_item",
        identifier=alice.user.identifier,
        params={"board_id": 1001, "item_name": "From the API", "column_values": {"status": "Done"}},
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["execution_id"] and body["data"]["name"] == "From the API"
    assert any(item["name"] == "From the API" for item in boards.items.values())
    assert boards.api_requests[-1]["user"] == 101  # as Alice, not a bot


def test_a_second_user_without_access_is_refused(api, bob, boards):
    before = len(boards.items)
    response = execute(
        api,
        tool_name="monday_create_item",
        identifier=bob.user.identifier,
        params={"board_id": 1001, "item_name": "Nope"},
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "tool_forbidden"
    assert len(boards.items) == before


def test_validation_errors_are_422_with_paths(api, alice, boards):
    response = execute(
        api,
        tool_name="monday_create_item",
        identifier=alice.user.identifier,
        params={"board_id": "x"},
    )
    assert response.status_code == 422
    errors = response.json()["error"]["details"]["errors"]
    assert {"$.board_id", "$"} <= {e["path"] for e in errors}


def test_unknown_tool_is_404(api, alice):
    response = execute(api, tool_name="monday_fly", identifier=alice.user.identifier)
    assert response.status_code == 404 and response.json()["error"]["code"] == "tool_not_found"


def test_rate_limit_is_429_with_retry_after(api, alice, monday):
    monday.api.rate_limit_next(1, retry_after=9)
    response = execute(api, tool_name="monday_get_me", identifier=alice.user.identifier)
    assert response.status_code == 429
    assert response["Retry-After"] == "9"
    assert response.json()["error"]["details"]["retry_after"] == 9


def test_a_session_user_runs_tools_as_themselves(member_client, alice, boards):
    response = member_client.post(
        "/api/v1/tools/execute",
        {"tool_name": "monday_get_me"},
        content_type="application/json",
    )
    assert response.status_code == 200 and response.json()["data"]["name"] == "Alice"


def test_a_session_user_may_not_name_an_identifier(member_client, alice, bob):
    response = member_client.post(
        "/api/v1/tools/execute",
        {"tool_name": "monday_get_me", "identifier": bob.user.identifier},
        content_type="application/json",
    )
    assert response.status_code == 403
    assert not AuditEvent.objects.filter(action="tool.executed").exists()


def test_another_organizations_key_cannot_use_this_identifier(other_api, alice):
    response = execute(other_api, tool_name="monday_get_me", identifier=alice.user.identifier)
    assert response.status_code == 404


def test_search_ranks_the_identifiers_own_tools_best_first(api, alice):
    found = api.get(
        "/api/v1/tools/search",
        {"q": "add an item to a board", "identifier": alice.user.identifier},
    )
    assert found.status_code == 200
    results = found.json()["results"]
    assert results[0]["name"] == "monday_create_item" and results[0]["write"] is True
    assert [r["score"] for r in results] == sorted((r["score"] for r in results), reverse=True)
    assert {r["provider"] for r in results} == {"monday"}  # only tools she may call


def test_catalog_search_is_for_admins_and_keys(api, member_client, alice):
    catalog = api.get("/api/v1/tools/search", {"q": "create a jira ticket", "scope": "catalog"})
    assert catalog.json()["results"][0]["name"] == "jira_create_issue"  # not connected
    refused = member_client.get("/api/v1/tools/search", {"q": "jira", "scope": "catalog"})
    assert refused.status_code == 403
    assert api.get("/api/v1/tools/search", {"scope": "catalog"}).status_code == 422


def test_search_matches_the_phrasings_a_tool_declares(api, alice):
    """monday_list_boards declares "which projects am I on": none of those words is in its
    name, description or parameters, yet the request finds it."""
    from connections.tools import tool_registry

    tool = tool_registry()["monday_list_boards"]
    assert "projects" not in f"{tool.name} {tool.description}".lower()
    found = api.get(
        "/api/v1/tools/search",
        {"q": "which projects am I on", "identifier": alice.user.identifier, "limit": 3},
    ).json()["results"]
    assert found[0]["name"] == "monday_list_boards"
