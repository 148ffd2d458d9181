"""Background work of agents (Celery): driving a run, and resuming runs whose worker died."""

from celery import shared_task

from agents import runner
from core.jobs import exclusive


@shared_task(acks_late=True)
def run_agent(run_id: str) -> None:
    runner.execute_run(run_id)


@shared_task
def resume_stalled_runs() -> dict:
    return exclusive("resume_stalled_runs", lambda: {"resumed": runner.resume_stalled_runs()})
