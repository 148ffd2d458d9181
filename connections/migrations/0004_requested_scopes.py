from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("connections", "0003_audit_moves_to_its_app")]

    operations = [
        migrations.RenameField(
            model_name="authorizationrequest",
            old_name="pending_scopes",
            new_name="requested_scopes",
        ),
    ]
