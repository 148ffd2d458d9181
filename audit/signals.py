"""Followers of the audit trail: other apps (the webhook outbox) that write something
alongside an event, in the transaction of the change it records, atomically.

A follower is asked about each event before it is appended and answers with the work to
do once it is (run in the same transaction), or None. An event nobody follows, written
outside any transaction, needs no transaction of its own: on PostgreSQL it is one
statement that commits itself (audit/trail.py) — no BEGIN and COMMIT round trips on
every tool call.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

# (event) -> the work to run after the event is appended, in its transaction, or None.
Follower = Callable[[Any], Callable[[], object] | None]

_followers: list[Follower] = []


def follow_events(follower: Follower) -> Follower:
    """Register a follower (a decorator); registering one twice keeps one."""
    if follower not in _followers:
        _followers.append(follower)
    return follower


def followers_of(event: Any) -> list[Callable[[], object]]:
    """The work followers want done once `event` is appended."""
    return [work for follower in _followers if (work := follower(event)) is not None]


def unfollow_events(follower: Follower) -> None:
    """Unregister a follower (tests)."""
    if follower in _followers:
        _followers.remove(follower)
