"""Followers of the trail (audit/signals.py) write in the event's transaction: what one
writes commits with the event or not at all, even for an event recorded outside any
transaction; an event nobody follows needs no transaction of its own (on PostgreSQL one
autocommitted statement)."""

from __future__ import annotations

import pytest
from django.db import connection

from audit import trail
from audit.models import AuditEvent
from audit.signals import follow_events, unfollow_events
from core.models import TaskFailure
from tests.statements import counted

pytestmark = pytest.mark.django_db(transaction=True)


class Refused(Exception):
    pass


@pytest.fixture
def follower():
    """Follows "test.followed": writes a row alongside, then fails when told to."""
    told = {"fail": False}

    def follow(event):
        if event.action != "test.followed":
            return None

        def work():
            TaskFailure.objects.create(task="follower", error=f"saw {event.pk}")
            if told["fail"]:
                raise Refused

        return work

    follow_events(follow)
    yield told
    unfollow_events(follow)


def test_what_a_follower_writes_commits_with_the_event_or_neither_does(org, follower):
    trail.record(action="test.followed", organization=org)
    event = AuditEvent.objects.get(action="test.followed")
    assert TaskFailure.objects.get(task="follower").error == f"saw {event.pk}"

    follower["fail"] = True
    with pytest.raises(Refused):
        trail.record(action="test.followed", organization=org, target_id="second")
    assert not AuditEvent.objects.filter(target_id="second").exists()  # rolled back together
    assert TaskFailure.objects.filter(task="follower").count() == 1


@pytest.mark.postgres_only
def test_an_event_nobody_follows_is_one_statement_that_commits_itself(org, follower):
    trail.record(action="test.warm", organization=org)
    with counted() as alone:
        trail.record(action="test.unfollowed", organization=org)
    with counted() as followed:
        trail.record(action="test.followed", organization=org)
    assert (len(alone.statements), alone.round_trips, alone.commits) == (1, 1, 1)
    # BEGIN, the event, the follower's row, COMMIT
    assert (len(followed.statements), followed.round_trips, followed.commits) == (2, 4, 1)
    assert connection.get_autocommit()
