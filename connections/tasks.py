"""Background work (django-tasks) of connections: proactive token refresh, and the cleanup
of authorizations nobody finished."""

from django_tasks import task

from connections import authorization, tokens


@task()
def refresh_expiring_tokens() -> dict[str, int]:
    return tokens.refresh_expiring_accounts()


@task()
def prune_authorization_requests() -> dict[str, int]:
    return authorization.prune_authorization_requests()
