"""Background work (django-tasks): proactive token refresh."""

from django_tasks import task

from connections import oauth


@task()
def refresh_expiring_tokens() -> dict[str, int]:
    return oauth.refresh_expiring_accounts()
