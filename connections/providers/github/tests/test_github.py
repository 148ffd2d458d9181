"""GitHub: every tool against the emulator, as the user; each user sees only their own
repositories (a private one is a 404 for anyone else), rate limits come back as 429."""

from __future__ import annotations

import pytest

from connections.errors import ToolForbidden, ToolInvalid, ToolNotFound, ToolRateLimited
from connections.models import ConnectedAccount


def seed(github) -> None:
    github.add_user("u-1", "Alice Martin", "alice@acme.test", login="alice")
    github.add_user("u-2", "Bob Stone", "bob@acme.test", login="bob")
    github.add_repo("acme/website", members=["alice", "bob"], private=True)
    github.add_repo("alice/secret-plans", members=["alice"], private=True)
    github.add_repo("acme/oss", members=["bob"], private=False)
    github.add_issue("acme/website", "Broken footer link", author="bob", labels=["bug"])
    github.add_issue("acme/website", "Faster build", author="alice", pull=True)
    github.add_issue("alice/secret-plans", "World domination", author="alice")


@pytest.fixture
def world(provider_world):
    return provider_world("github", prepare=seed)


def test_the_account_is_identified_by_its_login(world):
    account = ConnectedAccount.objects.get(identifier=world.alice.user.identifier)
    assert account.provider_account_label == "alice" and account.provider_account_id == "u-1"


def test_get_me_and_list_repos_as_each_user(world):
    assert world.run(world.alice, "github_get_me")["login"] == "alice"
    alice_repos = {r["repo"] for r in world.run(world.alice, "github_list_repos")["repositories"]}
    bob_repos = {r["repo"] for r in world.run(world.bob, "github_list_repos")["repositories"]}
    assert alice_repos == {"acme/website", "alice/secret-plans"}
    assert bob_repos == {"acme/website", "acme/oss"}


def test_issue_lifecycle_create_get_update_comment(world):
    created = world.run(
        world.alice,
        "github_create_issue",
        repo="acme/website",
        title="Launch checklist",
        body="- [ ] DNS",
        labels=["launch"],
        assignees=["alice"],
    )
    number = created["number"]
    assert created["author"] == "alice" and created["labels"] == ["launch"]
    fetched = world.run(world.bob, "github_get_issue", repo="acme/website", number=number)
    assert fetched["body"] == "- [ ] DNS" and fetched["assignees"] == ["alice"]
    closed = world.run(
        world.alice,
        "github_update_issue",
        repo="acme/website",
        number=number,
        state="closed",
        labels=["launch", "done"],
    )
    assert closed["state"] == "closed" and closed["labels"] == ["launch", "done"]
    comment = world.run(
        world.bob, "github_add_issue_comment", repo="acme/website", number=number, body="Nice"
    )
    assert comment["author"] == "bob"


def test_list_issues_leaves_pull_requests_to_their_own_tools(world):
    issues = world.run(world.alice, "github_list_issues", repo="acme/website")["issues"]
    assert [i["title"] for i in issues] == ["Broken footer link"]
    pulls = world.run(world.alice, "github_list_pull_requests", repo="acme/website")
    assert [p["title"] for p in pulls["pull_requests"]] == ["Faster build"]
    number = pulls["pull_requests"][0]["number"]
    pull = world.run(world.alice, "github_get_pull_request", repo="acme/website", number=number)
    assert pull["head"] == "feature" and pull["changed_files"] == 1


def test_search_finds_only_what_the_user_can_see(world):
    mine = world.run(world.alice, "github_search_issues", query="domination")
    theirs = world.run(world.bob, "github_search_issues", query="domination")
    assert mine["total"] == 1 and mine["items"][0]["repo"] == "alice/secret-plans"
    assert theirs["total"] == 0


def test_another_users_private_repository_does_not_exist_for_them(world):
    with pytest.raises(ToolNotFound):
        world.run(world.bob, "github_list_issues", repo="alice/secret-plans")
    with pytest.raises(ToolNotFound):
        world.run(world.bob, "github_create_issue", repo="alice/secret-plans", title="Hi")
    assert len(world.emulator.repos["alice/secret-plans"]["issues"]) == 1


def test_writing_to_a_public_repository_without_push_access_is_403(world):
    with pytest.raises(ToolForbidden):
        world.run(world.alice, "github_create_issue", repo="acme/oss", title="Drive-by")


def test_validation_errors_are_422_with_githubs_words(world):
    with pytest.raises(ToolInvalid) as raised:
        world.run(world.alice, "github_update_issue", repo="acme/website", number=1, state="merged")
    assert raised.value.status == 422  # refused by the schema, before any call


def test_githubs_403_rate_limit_is_a_429_with_the_reset(world):
    world.emulator.rate_limit_next()
    with pytest.raises(ToolRateLimited) as raised:
        world.run(world.alice, "github_list_repos")
    assert raised.value.status == 429 and 40 <= raised.value.retry_after <= 44
