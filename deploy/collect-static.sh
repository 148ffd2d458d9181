#!/bin/sh
# Collect static files for the image (whitenoise serves them, hashed, with DEBUG off).
# Run at build time by the Dockerfile: the settings need stand-ins for what a running
# portal must have, never the real ones.
set -eu
SECRET_KEY=collect-static-only VAULT_KEYS=collect-static-only \
PORTAL_BASE_URL=http://build.invalid REDIS_URL=redis://build.invalid:6379/0 DEBUG=0 \
  exec python manage.py collectstatic --no-input
