from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Operations"

    def ready(self) -> None:
        from django.db.backends.signals import connection_created

        from core import db, tracing, worker  # noqa: F401  (worker heartbeats and task failures)

        connection_created.connect(db.settle_before_queries)
        tracing.configure()  # only when OTEL_EXPORTER_OTLP_ENDPOINT names a collector
