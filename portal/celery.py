"""The Celery application: every background task of the portal runs on it.

Production: a Redis broker (CELERY_BROKER_URL or REDIS_URL), workers with a thread pool
(`celery -A portal worker --pool threads --concurrency $WORKER_CONCURRENCY`) and one or
more beat schedulers (`celery -A portal beat`; core.jobs keeps a periodic job from
running twice at once). `make run` uses the embedded broker, a SQLite file under
var/broker (portal/broker.py), so a fresh machine needs nothing but Python. Tests run tasks eagerly in-process, except the
tests that start real workers against Redis.
"""

from __future__ import annotations

import os

from celery import Celery
from kombu.transport import TRANSPORT_ALIASES

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings.runtime")

# redis:// and rediss:// brokers use the portal's guarded Redis transport (portal/broker.py:
# a broker restart must not kill the workers that hold unacknowledged tasks).
TRANSPORT_ALIASES["redis"] = TRANSPORT_ALIASES["rediss"] = "portal.broker:Transport"
# make run's embedded broker: SQLite through kombu's SQLAlchemy transport (portal/broker.py).
TRANSPORT_ALIASES["sqla"] = "portal.broker:EmbeddedTransport"

app = Celery("portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
