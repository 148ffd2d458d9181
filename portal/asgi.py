"""ASGI entry point (uvicorn): Django, with the MCP endpoint at /mcp (MCP_ASGI_WRAPPER)."""

import os

from django.conf import settings
from django.core.asgi import get_asgi_application
from django.utils.module_loading import import_string

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings.runtime")
django_application = get_asgi_application()
# Composed by dotted path, as ROOT_URLCONF composes the apps' URLs.
application = import_string(settings.MCP_ASGI_WRAPPER)(django_application)
