# Agent Portal's image: one image, four roles (deploy/entrypoint.sh: migrate, web, worker,
# scheduler). Multi-stage: the build stage compiles wheels; the runtime stage has no
# compiler, runs as an unprivileged user, and checks its own health.
# The base is pinned to a release; pin its digest too when you publish
# (`docker buildx imagetools inspect python:3.11.14-slim-bookworm`).
ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential libpq-dev \
 && rm -rf /var/lib/apt/lists/*
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
COPY requirements.txt /tmp/requirements.txt
RUN pip install -r /tmp/requirements.txt

FROM ${PYTHON_IMAGE} AS runtime
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DJANGO_SETTINGS_MODULE=portal.settings.runtime \
    DEBUG=0 \
    LOG_FORMAT=json \
    PORT=8000
RUN groupadd --system --gid 10001 portal \
 && useradd --system --uid 10001 --gid portal --home-dir /app --shell /usr/sbin/nologin portal
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY --chown=portal:portal . /app
# Static files are collected at build time (whitenoise serves them, hashed).
RUN ./deploy/collect-static.sh && chown -R portal:portal /app/staticfiles
USER portal:portal
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen(f\"http://127.0.0.1:{os.environ.get('PORT', '8000')}/healthz\", timeout=4)"]
ENTRYPOINT ["/app/deploy/entrypoint.sh"]
CMD ["web"]
