from django.apps import AppConfig


class ConnectionsConfig(AppConfig):
    name = "connections"
    verbose_name = "Connections"

    def ready(self) -> None:
        from connections import receivers  # noqa: F401  (a removed member's accounts)
        from connections.providers import providers

        providers()  # validate the whole catalog at start-up: a bad entry stops here
