from typing import Any

from django.core.management.base import BaseCommand

from connections.vault import get_keyring, reseal_all


class Command(BaseCommand):
    help = (
        "Re-seal every stored secret with the active (first) key of VAULT_KEYS. "
        "Idempotent; safe to re-run after an interruption."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        active = get_keyring().active_kid
        report = reseal_all()
        for label, counts in report.items():
            self.stdout.write(
                f"{label}: {counts['rows']} rows, {counts['resealed']} resealed, "
                f"{counts['already_current']} already on {active}"
            )
        total = sum(counts["resealed"] for counts in report.values())
        self.stdout.write(f"Done: {total} secrets resealed with key {active}.")
