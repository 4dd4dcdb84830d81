"""The weekly report (the seed's metric list), generated every Monday for the previous ISO week,
shown as a page and sent by email and to a Slack incoming webhook."""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage
from django.template.loader import render_to_string
from django.utils import timezone

from metrics import dora, platform
from metrics.models import WeeklyReport
from metrics.survey import current_quarter, survey_results

log = logging.getLogger(__name__)


def previous_week(today: date | None = None) -> date:
    today = today or timezone.now().date()
    return today - timedelta(days=today.weekday() + 7)


def _minutes(hours: float | None) -> float | None:
    return None if hours is None else round(hours * 60, 1)


def build_report_data(week_start: date) -> dict[str, Any]:
    """The seed's weekly metrics for Monday..Sunday starting at week_start."""
    week_end = week_start + timedelta(days=6)
    keys = dora.dora_summary(dora.Scope(), dora.Window(week_start, week_end))
    teams = set(
        platform.active_components().exclude(owner_ref="").values_list("owner_ref", flat=True)
    )
    per_team = keys["deployments"] / len(teams) / 7 if teams else None
    adoption = platform.golden_path_adoption()
    self_service = platform.self_service_rate(week_start, week_end)
    ttp = platform.template_time_to_production(week_start, week_end)
    dau = platform.daily_active_users(week_start, week_end)
    satisfaction = survey_results(current_quarter())
    return {
        "week_start": week_start.isoformat(),
        "week_end": week_end.isoformat(),
        "deployment_frequency": {
            "deploys_per_team_per_day": per_team,
            "deploys_per_day": keys["deployment_frequency_per_day"],
            "deployments": keys["deployments"],
            "teams": len(teams),
        },
        "lead_time_for_changes_minutes": _minutes(keys["lead_time_median_hours"]),
        "change_failure_rate": keys["change_failure_rate"],
        "time_to_restore_minutes": _minutes(keys["recovery_time_median_hours"]),
        "rework_rate": keys["rework_rate"],
        "bands": keys["bands"],
        "golden_path_adoption": adoption["rate"],
        "template_latest_version_rate": adoption["latest_version_rate"],
        "template_services": adoption["template_services"],
        "median_template_version_age_days": adoption["median_version_age_days"],
        "behind_threshold": adoption["behind_threshold"],
        "services_behind": adoption["services_behind"],
        "self_service_rate": self_service["rate"],
        "portal_daily_active_users": round(dau["average"], 1),
        "template_time_to_production_minutes": _minutes(ttp["median_hours"]),
        "developer_satisfaction_score": satisfaction["mean"],
        "survey_responses": satisfaction["responses"],
    }


def generate_weekly_report(week_start: date | None = None) -> WeeklyReport:
    """Create or refresh the report of a week (default: last week). Idempotent per week."""
    week_start = week_start or previous_week()
    report, _ = WeeklyReport.objects.update_or_create(
        week_start=week_start, defaults={"data": build_report_data(week_start)}
    )
    return report


def _pct(v: float | None) -> str:
    return "n/a" if v is None else f"{v * 100:.0f}%"


def _num(v: float | None, unit: str = "") -> str:
    return "n/a" if v is None else f"{v:.1f}{unit}"


def report_lines(report: WeeklyReport) -> list[tuple[str, str]]:
    d = report.data
    return [
        (
            "Deployment frequency",
            f"{_num(d['deployment_frequency']['deploys_per_team_per_day'])} deploys per team per day ({d['deployment_frequency']['deployments']} deployments)",
        ),
        ("Lead time for changes", _num(d["lead_time_for_changes_minutes"], " min")),
        ("Change failure rate", _pct(d["change_failure_rate"])),
        ("Time to restore", _num(d["time_to_restore_minutes"], " min")),
        ("Golden path adoption", _pct(d["golden_path_adoption"])),
        *_template_lines(d),
        ("Self-service rate", _pct(d["self_service_rate"])),
        ("Portal daily active users", _num(d["portal_daily_active_users"])),
        ("Template time to production", _num(d["template_time_to_production_minutes"], " min")),
        ("Developer satisfaction (0-10)", _num(d["developer_satisfaction_score"])),
    ]


def _template_lines(d: dict[str, Any]) -> list[tuple[str, str]]:
    """Template currency; reports stored before upgrades existed have none of these keys."""
    if "template_services" not in d:
        return []
    behind = d.get("services_behind") or []
    listed = ", ".join(f"{s['repository']} (v{s['version']} of v{s['latest']})" for s in behind)
    return [
        ("Services on their template's latest version",
         f"{_pct(d['template_latest_version_rate'])} of {d['template_services']}"),
        ("Median age of the template version in use",
         _num(d["median_template_version_age_days"], " days")),
        (f"More than {d['behind_threshold']} template versions behind", listed or "none"),
    ]  # fmt: skip


def send_weekly_report(report: WeeklyReport) -> None:
    """Email the report to PAVED_METRICS_REPORT_EMAILS and post it to PAVED_SLACK_WEBHOOK_URL."""
    lines = report_lines(report)
    subject = f"Paved weekly report: week of {report.week_start}"
    recipients = list(settings.PAVED_METRICS_REPORT_EMAILS)
    if recipients:
        body = render_to_string("metrics/report_email.txt", {"report": report, "lines": lines})
        EmailMessage(subject=subject, body=body, to=recipients).send()
        report.emailed_to = recipients
    url = settings.PAVED_SLACK_WEBHOOK_URL
    if url:
        text = f"*{subject}*\n" + "\n".join(f"• {k}: {v}" for k, v in lines)
        request = urllib.request.Request(  # noqa: S310  (URL comes from settings, https expected)
            url,
            data=json.dumps({"text": text}).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
                report.slack_status = f"sent ({response.status})"
        except (urllib.error.URLError, TimeoutError) as exc:
            report.slack_status = f"failed: {exc}"[:200]
            log.warning("weekly report: Slack webhook failed: %s", exc)
    report.save(update_fields=["emailed_to", "slack_status"])
