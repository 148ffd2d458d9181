"""Jira Cloud: the site found after the exchange (accessible-resources) becomes the API
base; every tool through the gateway; another project's issues do not exist for the user."""

from __future__ import annotations

import pytest

from connections.errors import ToolInvalid, ToolNotFound
from connections.models import ConnectedAccount


@pytest.fixture
def world(provider_world):
    def seed(jira):
        jira.add_site("other.atlassian.net")
        jira.add_project("WEB", ["u-1", "u-2"])
        jira.add_project("SEC", ["u-2"])
        jira.add_issue("WEB", "Broken login", reporter="u-2", description="Users cannot sign in")
        jira.add_issue("SEC", "Pen test findings", reporter="u-2")

    return provider_world("jira", prepare=seed, site="other.atlassian.net")


def test_the_chosen_site_is_kept_and_used(world, member_client):
    account = ConnectedAccount.objects.get(identifier=world.alice.user.identifier)
    assert account.provider_data == {
        "cloud_id": "cloud-2",
        "site_url": "https://other.atlassian.net",
        "site_name": "other",
    }
    start = member_client.post("/connected-accounts/jira/connect/")
    assert (
        "audience=api.atlassian.com" in start["Location"] and "prompt=consent" in start["Location"]
    )


def test_search_get_create_transition_comment(world):
    found = world.run(world.alice, "jira_search_issues", jql="project = WEB ORDER BY updated DESC")
    assert [i["key"] for i in found["issues"]] == ["WEB-1"]
    assert found["issues"][0]["url"] == "https://other.atlassian.net/browse/WEB-1"
    issue = world.run(world.alice, "jira_get_issue", issue="WEB-1")
    assert issue["description"] == "Users cannot sign in" and issue["status"] == "To Do"
    created = world.run(
        world.alice,
        "jira_create_issue",
        project="WEB",
        summary="Add 2FA",
        description="Line one\nLine two",
        assign_to_me=True,
    )
    assert created["key"] == "WEB-2"
    moved = world.run(world.alice, "jira_transition_issue", issue="WEB-2", to="In Progress")
    assert moved["status"] == "In Progress"
    with pytest.raises(ToolInvalid) as raised:
        world.run(world.alice, "jira_transition_issue", issue="WEB-2", to="Released")
    assert "Done" in raised.value.message
    world.run(world.alice, "jira_add_comment", issue="WEB-2", body="Working on it")
    assert world.emulator.issues["WEB-2"]["comments"][0]["author"]["displayName"] == "Alice Martin"


def test_another_projects_issue_does_not_exist_for_the_user(world):
    with pytest.raises(ToolNotFound):
        world.run(world.alice, "jira_get_issue", issue="SEC-1")
    assert world.run(world.alice, "jira_search_issues", jql="project = SEC")["issues"] == []
    assert world.run(world.bob, "jira_get_issue", issue="SEC-1")["summary"] == "Pen test findings"
