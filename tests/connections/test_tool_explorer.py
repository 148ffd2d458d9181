"""The tool explorer: a form from the schema, run as the signed-in user."""


def test_the_explorer_lists_only_the_users_tools(member_client, alice):
    page = member_client.get("/tools/")
    assert b"monday_create_item" in page.content


def test_a_user_without_accounts_sees_no_tools(owner_client, org):
    assert b"Connect an account" in owner_client.get("/tools/").content
    assert owner_client.get("/tools/monday_get_me/").status_code == 404


def test_the_form_is_generated_from_the_schema(member_client, alice):
    page = member_client.get("/tools/monday_create_item/").content.decode()
    assert 'name="board_id"' in page and 'name="item_name"' in page
    assert "<textarea" in page  # column_values: a JSON object, as text


def test_running_a_tool_shows_its_result(member_client, alice, boards):
    response = member_client.post(
        "/tools/monday_create_item/",
        {"board_id": "1001", "item_name": "Explorer item", "column_values": '{"status": "Done"}'},
    )
    assert b"Explorer item" in response.content and b"Execution" in response.content
    assert any(i["name"] == "Explorer item" for i in boards.items.values())


def test_errors_are_shown_clearly(member_client, alice, boards):
    response = member_client.post(
        "/tools/monday_create_item/",
        {"board_id": "2002", "item_name": "No access"},
        HTTP_HX_REQUEST="true",
    )
    assert b"403" in response.content and b"may not do this" in response.content
    bad_json = member_client.post(
        "/tools/monday_create_item/",
        {"board_id": "1001", "item_name": "x", "column_values": "{oops"},
        HTTP_HX_REQUEST="true",
    )
    assert b"column_values must be a JSON object" in bad_json.content
