"""`make run`'s tour: `manage.py seed_sandbox --org acme` (idempotent).

A second member (to show that what one person can't see in the sandbox, their agent
can't either), sandbox monday, GitHub and Slack connections, and the demo agent on the
sandbox model when no model is configured."""

from __future__ import annotations

from typing import Any

from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from agents.models import Agent
from connections.models import Connection
from portal.callers import Caller
from portal.models import Membership, Organization, Role, User
from sandbox import setup

TOUR_PROVIDERS = ("monday", "github", "slack")


class Command(BaseCommand):
    help = "Seed the sandbox tour in an organization: a second member, sandbox connections."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--org", required=True, help="organization slug")
        parser.add_argument("--member-email", default="member@acme.test")
        parser.add_argument("--member-password", default="acme-member-password")

    def handle(
        self, *args: Any, org: str, member_email: str, member_password: str, **options: Any
    ) -> None:
        organization = Organization.objects.filter(slug=org).first()
        if organization is None:
            raise CommandError(f"No organization with slug {org!r}.")
        owner = (
            Membership.objects.filter(organization=organization, role=Role.OWNER)
            .select_related("user", "organization")
            .order_by("pk")
            .first()
        )
        if owner is None:
            raise CommandError("The organization has no owner.")
        user = User.objects.filter(email__iexact=member_email).first()
        if user is None:
            user = User.objects.create_user(email=member_email, password=member_password)
            EmailAddress.objects.update_or_create(
                user=user, email=user.email, defaults={"verified": True, "primary": True}
            )
        Membership.objects.get_or_create(
            organization=organization, user=user, defaults={"role": Role.MEMBER}
        )
        self.stdout.write(f"Second member: {member_email} / {member_password}")
        caller = Caller.of_member(owner)
        for provider in TOUR_PROVIDERS:
            if (
                not Connection.objects.for_org(organization)
                .filter(name=f"{provider}-sandbox")
                .exists()
            ):
                setup.add_sandbox_connection(caller=caller, provider=provider)
        self.stdout.write(
            "Sandbox connections: " + ", ".join(f"{p}-sandbox" for p in TOUR_PROVIDERS)
        )
        demo = Agent.objects.for_org(organization).filter(name="Assistant")
        # The tour approves a write: the demo agent asks before each one.
        demo.update(approval_policy=Agent.Approval.ALWAYS)
        no_model = not settings.OPENAI_API_KEY and not settings.OPENAI_BASE_URL
        if no_model and demo.update(sandbox_model=True):
            self.stdout.write("No model configured: the demo agent uses the sandbox model.")
