from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = "Portal"

    def ready(self) -> None:
        from core.api import schema  # noqa: F401  (registers the OpenAPI auth extensions)
        from portal import signals  # noqa: F401  (connects the account audit receivers)
