"""AuditChain and AuditEvent now belong to the `audit` app (state only; the tables stay)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("connections", "0002_audit_action_time"),
        ("audit", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name="AuditEvent"),
                migrations.DeleteModel(name="AuditChain"),
            ]
        )
    ]
