from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from audit.signals import follow_events
from webhooks import outbox
from webhooks.models import WebhookEndpoint

follow_events(outbox.follow)  # audit events → outbox, in their transaction


@receiver([post_save, post_delete], sender=WebhookEndpoint, dispatch_uid="webhooks_subscribers")
def endpoint_changed(sender, instance: WebhookEndpoint, **kwargs) -> None:
    outbox.forget_subscribers(instance.organization_id)
