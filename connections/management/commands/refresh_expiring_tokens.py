from django.core.management.base import BaseCommand

from connections import tokens


class Command(BaseCommand):
    help = "Refresh ACTIVE connected accounts whose tokens expire within the refresh margin."

    def handle(self, *args, **options) -> None:
        counts = tokens.refresh_expiring_accounts()
        self.stdout.write(
            f"{counts['refreshed']} refreshed, {counts['expired']} need re-authorization, "
            f"{counts['failed']} failed (will retry)"
        )
