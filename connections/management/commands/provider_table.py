import json
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from connections.providers.catalog import ProviderEntry
from connections.setup_guide import markdown_table


class Command(BaseCommand):
    help = (
        "Print the README's table of providers, tools and scopes, from the catalog; with "
        "--schema, the JSON Schema of a provider entry (for editors and docs)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--schema", action="store_true", help="The entry's JSON Schema.")

    def handle(self, *args: Any, schema: bool = False, **options: Any) -> None:
        if schema:
            self.stdout.write(json.dumps(ProviderEntry.model_json_schema(), indent=2))
        else:
            self.stdout.write(markdown_table())
