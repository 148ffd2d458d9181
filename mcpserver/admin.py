"""MCP clients in the Django admin: shown, never added or changed there — every client
comes to exist through the one client rule (registration, a metadata document, or the
MCP settings page; mcpserver/clients.py)."""

from django.contrib import admin
from oauth2_provider.admin import ApplicationAdmin
from oauth2_provider.models import Application


class ReadOnlyApplicationAdmin(ApplicationAdmin):
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


admin.site.unregister(Application)
admin.site.register(Application, ReadOnlyApplicationAdmin)
