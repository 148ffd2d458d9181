from typing import Any

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError, CommandParser

from audit import chain, sequencer


class Command(BaseCommand):
    help = (
        "Chain the events still waiting for their place, then verify the audit hash chains. "
        "Exits 1 naming the first broken event."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--org", help="Only this organization's chain (its slug).")

    def handle(self, *args: Any, org: str | None, **options: Any) -> None:
        if org:
            # By string: audit sits below portal in the dependency order.
            organization = apps.get_model("portal", "Organization").objects.filter(slug=org).first()
            if organization is None:
                raise CommandError(f"No organization with slug {org!r}.")
            keys = [chain.chain_key(organization)]
        else:
            keys = chain.all_chain_keys()
        sequencer.sequence(keys=keys)
        total = 0
        for key in keys:
            report = chain.verify_chain(key)
            if not report.ok:
                where = (
                    f"event #{report.broken_event_id}" if report.broken_event_id else "chain end"
                )
                raise CommandError(
                    f"BROKEN {key}: {where} (seq {report.broken_seq}): {report.reason}; "
                    f"{report.count} events verified before it."
                )
            total += report.count
        self.stdout.write(f"OK {total} events")
