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
