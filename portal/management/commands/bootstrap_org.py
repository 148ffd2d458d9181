from django.core.management.base import BaseCommand, CommandError

from core.errors import PortalError
from portal.apikeys import mint_api_key
from portal.callers import Caller
from portal.organizations import bootstrap_organization


class Command(BaseCommand):
    help = (
        "Create an organization and its owner (or reuse them). With --api-key, mint a key "
        "and print it alone on the last line of stdout."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--name", required=True)
        parser.add_argument("--owner-email", required=True)
        parser.add_argument("--password", help="Set the owner's password.")
        parser.add_argument(
            "--initial-password",
            help="The owner's password if the owner is new (a restart keeps a changed one "
            "and signs nobody out).",
        )
        parser.add_argument("--api-key", action="store_true", help="Mint an API key.")

    def handle(self, *args, name: str, owner_email: str, password, api_key: bool, **options):
        initial = options.get("initial_password")
        try:
            org, membership, created = bootstrap_organization(
                name=name, owner_email=owner_email, password=password, initial_password=initial
            )
        except (PortalError, ValueError) as exc:
            raise CommandError(str(exc)) from exc
        verb = "Created" if created else "Reusing"
        self.stdout.write(f"{verb} organization {org.name} (slug {org.slug}).")
        self.stdout.write(f"Owner: {membership.user.email}")
        if password or (initial and created):
            self.stdout.write(f"Password: {password or initial}")
        if api_key:
            _, plaintext = mint_api_key(caller=Caller.of_member(membership), name="bootstrap")
            self.stdout.write(plaintext)
