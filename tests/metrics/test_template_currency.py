"""Golden-path adoption reports how current the services made from templates are; the weekly
report lists the services more than N versions behind."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from metrics import platform
from metrics.models import WeeklyReport
from metrics.reports import build_report_data, previous_week, report_lines
from scaffolder.models import ServiceProvenance, TemplateVersion

pytestmark = [pytest.mark.django_db]


def _versions(ref: str, count: int) -> list[TemplateVersion]:
    now = timezone.now()
    return [
        TemplateVersion.objects.create(ref=ref, version=n, content_hash=f"{ref}{n}", yaml_text="",
                                       created_at=now - timedelta(days=10 * (count - n)))
        for n in range(1, count + 1)
    ]  # fmt: skip


def _service(name: str, version: TemplateVersion) -> None:
    ServiceProvenance.objects.create(repository=f"team/{name}", template_ref=version.ref,
                                     version=version, git_host="local")  # fmt: skip


def test_services_on_latest_median_age_and_those_far_behind() -> None:
    python = _versions("template:default/python-service", 5)  # v5 is today, v1 40 days old
    docs = _versions("template:default/docs-site", 1)
    _service("orders", python[4])  # latest, age 0
    _service("billing", python[3])  # 1 behind, age 10
    _service("legacy", python[0])  # 4 behind, age 40
    _service("handbook", docs[0])  # latest, age 0
    result = platform.template_version_currency(behind=2)
    assert result["template_services"] == 4
    assert result["on_latest_version"] == 2
    assert result["latest_version_rate"] == 0.5
    assert result["median_version_age_days"] == pytest.approx(5.0, abs=0.1)
    assert [s["repository"] for s in result["services_behind"]] == ["team/legacy"]
    assert result["services_behind"][0]["behind"] == 4
    assert platform.template_version_currency(behind=0)["services_behind"][0]["repository"] == (
        "team/billing"
    )


def test_weekly_report_lists_services_more_than_n_versions_behind(settings: object) -> None:
    settings.PAVED_UPGRADE_BEHIND_VERSIONS = 2  # type: ignore[attr-defined]
    python = _versions("template:default/python-service", 4)
    _service("orders", python[3])
    _service("legacy", python[0])
    week = previous_week()
    report = WeeklyReport.objects.create(week_start=week, data=build_report_data(week))
    lines = dict(report_lines(report))
    assert lines["Services on their template's latest version"] == "50% of 2"
    assert lines["More than 2 template versions behind"] == "team/legacy (v1 of v4)"


def test_empty_currency_reads_as_not_available() -> None:
    result = platform.template_version_currency()
    assert result["latest_version_rate"] is None
    assert result["median_version_age_days"] is None
    assert result["services_behind"] == []
