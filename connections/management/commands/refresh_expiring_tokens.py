from typing import Any

from django.core.management.base import BaseCommand

from connections import upkeep


class Command(BaseCommand):
    help = (
        "Refresh, in this process, ACTIVE connected accounts whose tokens expire within the "
        "refresh margin (the periodic job `refresh_due_tokens` does this on the workers)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        counts = upkeep.upkeep(upkeep.due_account_ids()).as_dict()
        self.stdout.write(
            f"{counts['refreshed']} refreshed, {counts['expired']} need re-authorization, "
            f"{counts['failed'] + counts['rate_limited']} failed (will retry)"
        )
