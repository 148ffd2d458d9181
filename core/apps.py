from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Operations"

    def ready(self) -> None:
        from core import tracing, worker  # noqa: F401  (worker heartbeats and task failures)

        tracing.configure()  # only when OTEL_EXPORTER_OTLP_ENDPOINT names a collector
