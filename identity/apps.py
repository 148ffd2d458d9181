from django.apps import AppConfig


class IdentityConfig(AppConfig):
    name = "identity"
    verbose_name = "Enterprise identity"

    def ready(self) -> None:
        from identity import checks  # noqa: F401  (check --deploy)
