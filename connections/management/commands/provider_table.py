import json

from django.core.management.base import BaseCommand

from connections.providers.catalog import ProviderEntry
from connections.setup_guide import markdown_table


class Command(BaseCommand):
    help = (
        "Print the README's table of providers, tools and scopes, from the catalog; with "
        "--schema, the JSON Schema of a provider entry (for editors and docs)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--schema", action="store_true", help="The entry's JSON Schema.")

    def handle(self, *args, schema: bool = False, **options) -> None:
        if schema:
            self.stdout.write(json.dumps(ProviderEntry.model_json_schema(), indent=2))
        else:
            self.stdout.write(markdown_table())
