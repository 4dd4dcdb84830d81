"""Thin Celery tasks: ids in, engine calls out. Names are explicit so that moving a module
never orphans messages already in the queue."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from portal.providers.local_git.provider import LocalGitHost
from runs import runner, secrets, workspace


@shared_task(name="scaffolder.advance_run", acks_late=True, reject_on_worker_lost=True)
def advance_run(run_id: int) -> None:
    try:
        runner.advance_run(run_id)
    except runner.DATABASE_GONE as exc:
        runner.database_gone(f"advancing run {run_id}", exc)


@shared_task(name="scaffolder.execute_step", acks_late=True, reject_on_worker_lost=True)
def execute_step(step_id: int) -> str:
    # Retries of transient errors are scheduled by the engine from the Step row (not by
    # Celery's autoretry) so that the attempt count and backoff survive a lost message.
    try:
        return runner.execute_step(step_id)
    except runner.DATABASE_GONE as exc:
        return runner.database_gone(f"step {step_id}", exc)


@shared_task(name="scaffolder.recover_stalled_steps", acks_late=True)
def recover_stalled_steps() -> int:
    try:
        return runner.recover_stalled_steps()
    except runner.DATABASE_GONE as exc:
        runner.database_gone("the recovery job", exc)
        return 0


@shared_task(name="scaffolder.collect_workspaces", acks_late=True)
def collect_workspaces() -> int:
    """Old run workspaces, and repository creations of the local git host that never finished."""
    removed = workspace.collect_workspaces()
    abandoned = LocalGitHost().collect_abandoned_creations(
        older_than_seconds=settings.PAVED_GIT_ABANDONED_CREATION_SECONDS
    )
    return len(removed) + len(abandoned)


@shared_task(name="scaffolder.empty_workspace_trash", acks_late=True)
def empty_workspace_trash() -> int:
    return workspace.empty_trash()


@shared_task(name="scaffolder.purge_run_secrets", acks_late=True)
def purge_run_secrets() -> int:
    return secrets.purge_expired_run_secrets()
