"""What agents do when a member leaves: their unfinished runs end, none waits for an
approval nobody may give, none resumes as someone who is no longer here."""

from __future__ import annotations

from django.dispatch import receiver

from agents import runs
from portal.organizations import member_removed


@receiver(member_removed)
def end_removed_members_runs(sender, organization, user, caller, **kwargs) -> None:
    runs.end_runs_of_removed_member(organization=organization, user=user, caller=caller)
