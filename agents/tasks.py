"""Background work (django-tasks): agent runs. Immediate by default; a database worker
(`TASKS_BACKEND=database`, `manage.py db_worker`) in production."""

from django_tasks import task

from agents import runner


@task()
def run_agent(run_id: str) -> None:
    runner.execute_run(run_id)
