from typing import Any

from django.core.management.base import BaseCommand

from connections import cleanup


class Command(BaseCommand):
    help = (
        "Expire authorizations nobody finished (erasing any tokens they hold, revoking them "
        "at the provider first) and delete requests that expired more than a day ago."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        counts = cleanup.prune_authorization_requests()
        self.stdout.write(f"{counts['expired']} expired, {counts['deleted']} deleted")
