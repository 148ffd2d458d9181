"""Linear: comma scopes, GraphQL tools as the user, GraphQL errors and rate limits mapped."""

from __future__ import annotations

import pytest

from connections.errors import ToolInvalid, ToolNotFound, ToolRateLimited


@pytest.fixture
def world(provider_world):
    def seed(linear):
        linear.add_team("ENG", "Engineering")
        linear.add_issue("ENG", "Flaky deploys", assignee="u-1", description="Sometimes red")

    return provider_world("linear", prepare=seed)


def test_scopes_are_comma_separated(world, member_client):
    start = member_client.post("/connected-accounts/linear/connect/")
    assert "scope=read%2Cwrite" in start["Location"]


def test_teams_issues_and_one_issue(world):
    assert world.run(world.alice, "linear_list_teams")["teams"][0]["key"] == "ENG"
    mine = world.run(world.alice, "linear_list_issues", assigned_to_me=True)["issues"]
    assert [i["identifier"] for i in mine] == ["ENG-1"]
    assert world.run(world.bob, "linear_list_issues", assigned_to_me=True)["issues"] == []
    issue = world.run(world.alice, "linear_get_issue", issue="ENG-1")
    assert issue["description"] == "Sometimes red" and issue["assignee"] == "Alice Martin"
    with pytest.raises(ToolNotFound):
        world.run(world.alice, "linear_get_issue", issue="ENG-99")


def test_create_update_and_comment(world):
    created = world.run(
        world.bob,
        "linear_create_issue",
        team="ENG",
        title="Dark mode",
        priority=3,
        assign_to_me=True,
    )
    assert created["identifier"] == "ENG-2" and created["assignee"] == "Bob Stone"
    moved = world.run(world.bob, "linear_update_issue", issue="ENG-2", state="in progress")
    assert moved["state"] == "In Progress"
    with pytest.raises(ToolInvalid) as raised:
        world.run(world.bob, "linear_update_issue", issue="ENG-2", state="Shipped")
    assert "Todo, In Progress, Done" in raised.value.message
    comment = world.run(world.bob, "linear_add_comment", issue="ENG-2", body="Started")
    assert comment["id"]
    with pytest.raises(ToolNotFound):
        world.run(world.bob, "linear_create_issue", team="OPS", title="x")


def test_rate_limits_read_linears_reset_header(world):
    world.emulator.rate_limit_next()
    with pytest.raises(ToolRateLimited) as raised:
        world.run(world.alice, "linear_list_teams")
    assert 8 <= raised.value.retry_after <= 10
