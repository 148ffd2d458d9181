from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from audit.signals import event_recorded
from webhooks import outbox
from webhooks.models import WebhookEndpoint


@receiver(event_recorded, dispatch_uid="webhooks_outbox")
def to_outbox(sender, event, **kwargs) -> None:
    outbox.capture(event)


@receiver([post_save, post_delete], sender=WebhookEndpoint, dispatch_uid="webhooks_subscribers")
def endpoint_changed(sender, instance: WebhookEndpoint, **kwargs) -> None:
    outbox.forget_subscribers(instance.organization_id)
