"""Background work of agents (Celery): driving a run, and resuming runs whose worker died."""

from celery import shared_task

from agents import approval_links, leases, runner
from core import bulkheads
from core.jobs import exclusive


@shared_task(acks_late=True)
def run_agent(run_id: str) -> None:
    bulkheads.within(
        "runs",
        lambda: runner.execute_run(run_id),
        defer=lambda seconds: run_agent.apply_async(args=[run_id], countdown=seconds),
    )


@shared_task
def resume_stalled_runs() -> dict:
    return exclusive("resume_stalled_runs", lambda: {"resumed": leases.resume_stalled_runs()})


@shared_task
def prune_approval_links() -> dict:
    return exclusive("prune_approval_links", lambda: {"deleted": approval_links.prune()})
