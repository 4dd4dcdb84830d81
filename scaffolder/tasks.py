"""Thin Celery tasks of the scaffolder (the engine's own are in runs/tasks.py)."""

from __future__ import annotations

from celery import shared_task

from scaffolder.upgrades.services import refresh_pull_request_states


@shared_task(name="upgrades.refresh_pull_requests", acks_late=True)
def refresh_upgrade_pull_requests() -> dict[str, int]:
    """Merged or declined: what the teams did with the open upgrade pull requests."""
    return refresh_pull_request_states()
