from django.apps import AppConfig


class SandboxConfig(AppConfig):
    name = "sandbox"
    verbose_name = "Sandbox providers and model"

    def ready(self) -> None:
        from core import egress, sandbox
        from sandbox import service

        egress.register_local_service(sandbox.HOST, service.answer)
