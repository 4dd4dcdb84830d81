"""Thin Celery tasks: rollup refresh and the Monday report."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="metrics.refresh_rollups", acks_late=True, ignore_result=True)
def refresh_rollups_task() -> int:
    from metrics.rollups import refresh_rollups

    return refresh_rollups()


@shared_task(name="metrics.weekly_report", acks_late=True, ignore_result=True)
def weekly_report_task() -> int:
    from metrics.reports import generate_weekly_report, send_weekly_report

    report = generate_weekly_report()
    send_weekly_report(report)
    return report.pk


@shared_task(name="metrics.evaluate_scorecards", acks_late=True, ignore_result=True)
def evaluate_scorecards_task(component_id: int | None = None) -> int:
    """Beat: re-evaluate changed/stale components. With component_id: that one, now."""
    from catalog.models import Entity
    from metrics.scorecards.services import evaluate, evaluate_dirty

    if component_id is not None:
        return len(evaluate(components=Entity.objects.filter(pk=component_id)))
    return evaluate_dirty()


@shared_task(name="metrics.relink_unlinked", acks_late=True, ignore_result=True)
def relink_unlinked_task() -> int:
    """Beat: link waiting events to components, when the catalog changed since last time."""
    from metrics.relinking import relink_if_catalog_changed

    return relink_if_catalog_changed()
