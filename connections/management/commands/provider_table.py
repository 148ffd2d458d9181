from django.core.management.base import BaseCommand

from connections.setup_guide import markdown_table


class Command(BaseCommand):
    help = "Print the README's table of providers, tools and scopes, from the catalog."

    def handle(self, *args, **options) -> None:
        self.stdout.write(markdown_table())
