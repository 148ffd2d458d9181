"""`/metrics` (issue 28): the Prometheus exposition of the portal's counters
(core/metrics.py) and of what is read when scraped — the queue, runs waiting, workers,
late periodic jobs, refreshes in doubt, webhook deliveries due. Installation-wide counts:
no tenant, identifier or id is a label.

Off unless METRICS_TOKEN is set; then a scrape sends `Authorization: Bearer <token>`
(or bind it to an internal port at the proxy). With PROMETHEUS_MULTIPROC_DIR set, the
figures of every process writing there (gunicorn and Celery workers) are summed.
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Iterator

from django.conf import settings
from django.db.models import Min
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from front import operations
from webhooks.models import WebhookDelivery


class ReadAtScrape(Collector):
    """Gauges computed from the database and the broker when scraped."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        snapshot = operations.snapshot()
        now = timezone.now()
        depth = snapshot["queue_depth"]
        yield _gauge("portal_queue_depth", "Tasks waiting in the broker's queue", depth)
        yield _gauge(
            "portal_runs_queued", "Agent runs waiting for a worker", snapshot["queued_runs"]
        )
        yield _gauge(
            "portal_oldest_queued_run_age_seconds",
            "How long the oldest queued run has waited (0: none)",
            snapshot["oldest_queued_seconds"] or 0,
        )
        yield _gauge(
            "portal_runs_awaiting_approval",
            "Runs waiting for a person",
            snapshot["awaiting_approval"],
        )
        alive = sum(1 for worker in snapshot["workers"] if worker["alive"])
        yield _gauge("portal_workers_alive", "Workers whose heartbeat is recent", alive)
        late = sum(1 for job in snapshot["jobs"] if job.late)
        yield _gauge("portal_periodic_jobs_late", "Periodic jobs not started in time", late)
        yield _gauge(
            "portal_task_failures_24h",
            "Background tasks that failed in 24 h",
            snapshot["failures_24h"],
        )
        yield _gauge(
            "portal_refresh_outcome_unknown_accounts",
            "Active accounts whose last refresh's outcome is unknown",
            snapshot["refresh_unknown"],
        )
        yield _gauge(
            "portal_refreshes_failing_accounts",
            "Active accounts whose refreshes are failing",
            snapshot["refreshes_failing"],
        )
        due = WebhookDelivery.objects.filter(
            status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=now
        )
        oldest = due.aggregate(oldest=Min("created_at"))["oldest"]
        yield _gauge("portal_webhook_deliveries_due", "Webhook deliveries due now", due.count())
        yield _gauge(
            "portal_webhook_oldest_due_age_seconds",
            "Age of the oldest delivery due now (0: none)",
            (now - oldest).total_seconds() if oldest else 0,
        )


def _gauge(name: str, documentation: str, value: float | None) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, documentation)
    if value is not None:  # unknown (tasks run in-process): no sample, not a false zero
        family.add_metric([], float(value))
    return family


def _registry() -> CollectorRegistry:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
    else:
        registry = CollectorRegistry()
        registry.register(_Default())
    registry.register(ReadAtScrape())
    return registry


class _Default(Collector):
    """This process's counters (the default registry), when not in multiprocess mode."""

    def collect(self) -> Iterator:
        yield from REGISTRY.collect()


@csrf_exempt
def metrics_view(request: HttpRequest) -> HttpResponse:
    token = settings.METRICS_TOKEN
    if not token:
        raise Http404("Metrics are off: set METRICS_TOKEN.")
    given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    if not hmac.compare_digest(given.encode(), token.encode()):
        response = HttpResponse(
            "A bearer token is needed.\n", status=401, content_type="text/plain"
        )
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(generate_latest(_registry()), content_type=CONTENT_TYPE_LATEST)
