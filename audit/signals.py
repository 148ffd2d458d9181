"""Sent after an audit event is appended, inside the transaction of the change it
records: other apps (webhooks' outbox) write alongside it, atomically."""

from django.dispatch import Signal

event_recorded = Signal()  # sender=AuditEvent, event=<the AuditEvent>
