"""Background work (django-tasks): proactive token refresh, audit retention."""

from django_tasks import task

from connections import audit_log, oauth


@task()
def refresh_expiring_tokens() -> dict[str, int]:
    return oauth.refresh_expiring_accounts()


@task()
def prune_audit() -> int:
    return sum(report.deleted for report in audit_log.prune_all())
