#!/bin/sh
# The portal's processes, as the image (Dockerfile) and compose.yaml start them — and as
# tests/operations/test_containers.py starts them, with compose.yaml's environment:
#   migrate    apply database migrations, then exit (run once per release)
#   web        pages, REST API and /mcp (uvicorn, ASGI), on $PORT
#   worker     background work: agent runs, refreshes, webhooks (Celery, threads)
#   scheduler  the periodic jobs (Celery beat; several are safe: jobs take a lock)
set -eu

if [ -n "${PROMETHEUS_MULTIPROC_DIR:-}" ]; then
  # Metrics of every process of this container (and of the worker's, when the directory
  # is a shared volume) are summed by /metrics.
  mkdir -p "$PROMETHEUS_MULTIPROC_DIR"
fi

role="${1:-web}"
case "$role" in
  migrate)
    exec python manage.py migrate --no-input
    ;;
  web)
    exec uvicorn portal.asgi:application \
      --host "${HOST:-0.0.0.0}" --port "${PORT:-8000}" \
      --workers "${WEB_CONCURRENCY:-2}" --timeout-graceful-shutdown 60 \
      --proxy-headers --forwarded-allow-ips "${FORWARDED_ALLOW_IPS:-127.0.0.1}"
    ;;
  worker)
    exec celery -A portal worker --loglevel "${LOG_LEVEL:-INFO}"
    ;;
  scheduler)
    exec celery -A portal beat --loglevel "${LOG_LEVEL:-INFO}" \
      --schedule "${BEAT_SCHEDULE_FILE:-/tmp/celerybeat-schedule}"
    ;;
  *)
    echo "usage: entrypoint.sh migrate | web | worker | scheduler" >&2
    exit 64
    ;;
esac
