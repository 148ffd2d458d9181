"""Connection.auth_type (always "oauth2") and the REVOKED account status (never set: a
revoked grant reads EXPIRED, with a reconnect link) go; any REVOKED row, had one been
written by hand, reads DISCONNECTED."""

from django.db import migrations, models


def revoked_reads_disconnected(apps, schema_editor):
    apps.get_model("connections", "ConnectedAccount").objects.filter(status="REVOKED").update(
        status="DISCONNECTED"
    )


class Migration(migrations.Migration):
    dependencies = [("connections", "0007_refresh_claims")]

    operations = [
        migrations.RunPython(revoked_reads_disconnected, migrations.RunPython.noop),
        migrations.RemoveField(model_name="connection", name="auth_type"),
        migrations.AlterField(
            model_name="connectedaccount",
            name="status",
            field=models.CharField(
                choices=[
                    ("PENDING_AUTH", "Waiting for authorization"),
                    ("PENDING_VERIFICATION", "Waiting for verification"),
                    ("ACTIVE", "Active"),
                    ("EXPIRED", "Expired"),
                    ("DISCONNECTED", "Disconnected"),
                ],
                default="PENDING_AUTH",
                max_length=24,
            ),
        ),
    ]
