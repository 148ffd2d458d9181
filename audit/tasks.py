"""Background work of the audit trail: retention and closing write-ahead intents."""

from django_tasks import task

from audit import review, trail


@task()
def prune_audit() -> int:
    return sum(report.deleted for report in review.prune_all())


@task()
def close_stale_intents() -> int:
    return trail.close_stale_intents()
