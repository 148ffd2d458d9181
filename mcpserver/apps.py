from django.apps import AppConfig


class McpServerConfig(AppConfig):
    # Not "mcp": that is the SDK's package name.
    name = "mcpserver"
    verbose_name = "MCP server"

    def ready(self) -> None:
        from mcpserver import receivers  # noqa: F401  (audit of client registrations)
