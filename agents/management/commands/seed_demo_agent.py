"""`make run`'s demo agent: `manage.py seed_demo_agent --org acme` (idempotent)."""

from django.core.management.base import BaseCommand, CommandError

from agents import configuration
from agents.models import Agent
from portal.models import Organization

INSTRUCTIONS = (
    "You work in monday.com on behalf of the signed-in user, with their own permissions. "
    "Look up boards, groups and status labels before you create or change anything; "
    "when a request is ambiguous, ask instead of guessing. Answer briefly and say what you did."
)


class Command(BaseCommand):
    help = "Create the demo agent “Assistant” in an organization unless it exists."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--org", required=True, help="organization slug")

    def handle(self, *args, org: str, **options) -> None:
        organization = Organization.objects.filter(slug=org).first()
        if organization is None:
            raise CommandError(f"No organization with slug {org!r}.")
        if Agent.objects.for_org(organization).filter(name="Assistant").exists():
            self.stdout.write("Demo agent “Assistant” already exists.")
            return
        configuration.create_agent(org=organization, name="Assistant", instructions=INSTRUCTIONS)
        self.stdout.write("Created the demo agent “Assistant”.")
