"""Slack: every tool with the user's own token; a private channel is invisible to a
non-member, posting where the user is not a member is refused, Slack's ok:false
errors and 429s map to portal errors."""

from __future__ import annotations

import pytest

from connections.errors import ToolForbidden, ToolNotFound, ToolRateLimited
from connections.models import ConnectedAccount


def seed(slack) -> None:
    slack.add_channel("C1", "general", members=["u-1", "u-2"])
    slack.add_channel("C2", "leadership", members=["u-2"], private=True)
    slack.add_channel("C3", "random", members=["u-2"])
    slack.add_message("C1", "u-2", "Launch is on Friday")
    slack.add_message("C2", "u-2", "Budget cuts are coming")


@pytest.fixture
def world(provider_world):
    return provider_world("slack", prepare=seed)


def test_the_user_token_from_authed_user_is_kept_with_the_team(world):
    account = ConnectedAccount.objects.get(identifier=world.alice.user.identifier)
    assert account.provider_account_id == "u-1" and account.provider_data["team_id"]
    assert "chat:write" in account.scopes


def test_channels_and_history_follow_membership(world):
    alice = {c["name"] for c in world.run(world.alice, "slack_list_channels")["channels"]}
    bob = {c["name"] for c in world.run(world.bob, "slack_list_channels")["channels"]}
    assert alice == {"general", "random"} and bob == {"general", "leadership", "random"}
    history = world.run(world.alice, "slack_get_channel_history", channel="#general")
    assert history["channel"] == "C1" and history["messages"][0]["text"] == "Launch is on Friday"
    with pytest.raises(ToolNotFound):
        world.run(world.alice, "slack_get_channel_history", channel="C2")
    with pytest.raises(ToolNotFound):
        world.run(world.alice, "slack_get_channel_history", channel="leadership")


def test_post_reply_and_react_as_the_user(world):
    posted = world.run(world.alice, "slack_post_message", channel="general", text="On it")
    reply = world.run(
        world.bob, "slack_reply_in_thread", channel="C1", thread_ts=posted["ts"], text="Thanks"
    )
    assert reply["thread_ts"] == posted["ts"]
    world.run(world.bob, "slack_add_reaction", channel="general", ts=posted["ts"], emoji=":eyes:")
    messages = world.emulator.channels["C1"]["messages"]
    ours = next(m for m in messages if m["ts"] == posted["ts"])
    assert ours["user"] == "u-1" and ours["reactions"] == ["eyes"]
    assert messages[0]["user"] == "u-2" and messages[0]["thread_ts"] == posted["ts"]


def test_posting_where_the_user_is_not_a_member_is_forbidden(world):
    with pytest.raises(ToolForbidden):
        world.run(world.alice, "slack_post_message", channel="random", text="hi")
    assert world.emulator.channels["C3"]["messages"] == []


def test_search_sees_only_the_users_channels(world):
    assert world.run(world.alice, "slack_search_messages", query="budget")["total"] == 0
    found = world.run(world.bob, "slack_search_messages", query="budget")
    assert found["matches"][0]["channel"] == "leadership"


def test_get_user_by_id_and_by_email(world):
    assert world.run(world.alice, "slack_get_user", user="u-2")["name"] == "Bob Stone"
    assert world.run(world.alice, "slack_get_user", user="bob@acme.test")["id"] == "u-2"
    with pytest.raises(ToolNotFound):
        world.run(world.alice, "slack_get_user", user="U999")


def test_slack_rate_limits_are_429(world):
    world.emulator.rate_limit_next()
    with pytest.raises(ToolRateLimited) as raised:
        world.run(world.alice, "slack_list_channels")
    assert raised.value.retry_after == 3
