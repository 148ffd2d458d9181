"""The audit models move here from `connections`; their tables stay where they are.

AuditChain and AuditEvent are created in this app's *state* only (the tables
`connections_auditchain` and `connections_auditevent` already exist, made by
connections 0001/0002); connections 0003 removes them from that app's state.
OpenIntent is new.
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("portal", "0001_initial"),
        ("connections", "0002_audit_action_time"),
    ]

    state_operations = [
        migrations.CreateModel(
            name="AuditChain",
            fields=[
                ("key", models.CharField(max_length=40, primary_key=True, serialize=False)),
                ("last_seq", models.BigIntegerField(default=0)),
                ("last_hash", models.CharField(default="", max_length=64)),
                ("checkpoint_seq", models.BigIntegerField(default=0)),
                ("checkpoint_hash", models.CharField(default="", max_length=64)),
            ],
            options={"db_table": "connections_auditchain"},
        ),
        migrations.CreateModel(
            name="AuditEvent",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("chain", models.CharField(max_length=40)),
                ("seq", models.BigIntegerField()),
                ("created_at", models.DateTimeField()),
                (
                    "actor_type",
                    models.CharField(
                        choices=[
                            ("user", "User"),
                            ("api_key", "API key"),
                            ("system", "System"),
                            ("anonymous", "Anonymous"),
                        ],
                        max_length=10,
                    ),
                ),
                ("actor_id", models.CharField(blank=True, max_length=64)),
                ("actor_label", models.CharField(blank=True, max_length=255)),
                ("identifier", models.CharField(blank=True, max_length=255)),
                ("action", models.CharField(max_length=64)),
                ("target_type", models.CharField(blank=True, max_length=64)),
                ("target_id", models.CharField(blank=True, max_length=255)),
                (
                    "outcome",
                    models.CharField(
                        choices=[
                            ("success", "Success"),
                            ("failure", "Failure"),
                            ("denied", "Denied"),
                            ("pending", "Pending"),
                            ("unknown", "Outcome unknown"),
                        ],
                        default="success",
                        max_length=10,
                    ),
                ),
                ("metadata", models.JSONField(blank=True, default=dict)),
                ("request_id", models.CharField(blank=True, max_length=64)),
                ("ip", models.GenericIPAddressField(blank=True, null=True)),
                ("user_agent", models.CharField(blank=True, max_length=255)),
                ("prev_hash", models.CharField(blank=True, max_length=64)),
                ("hash", models.CharField(max_length=64)),
                (
                    "organization",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        to="portal.organization",
                    ),
                ),
            ],
            options={
                "db_table": "connections_auditevent",
                "indexes": [
                    models.Index(fields=["organization", "-id"], name="audit_org_newest"),
                    models.Index(fields=["organization", "action", "-id"], name="audit_org_action"),
                    models.Index(
                        fields=["organization", "identifier", "-id"], name="audit_org_ident"
                    ),
                    models.Index(
                        fields=["organization", "action", "created_at"],
                        name="audit_org_action_time",
                    ),
                ],
                "constraints": [
                    models.UniqueConstraint(fields=("chain", "seq"), name="audit_chain_seq")
                ],
            },
        ),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=state_operations),
        migrations.CreateModel(
            name="OpenIntent",
            fields=[
                (
                    "event",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="open_intent",
                        serialize=False,
                        to="audit.auditevent",
                    ),
                ),
                ("action", models.CharField(max_length=64)),
                ("created_at", models.DateTimeField(db_index=True)),
            ],
        ),
    ]
