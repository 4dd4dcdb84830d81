"""Quarterly survey, weekly report (page, email, Slack via a loopback server), beat schedule."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import date
from http.server import BaseHTTPRequestHandler, HTTPServer
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.core import mail
from django.core.management import call_command
from django.test import Client, override_settings

from metrics.models import SurveyResponse, WeeklyReport
from metrics.reports import generate_weekly_report, previous_week, send_weekly_report
from metrics.survey import current_quarter, survey_results

EXAMPLE = Path(__file__).resolve().parent / "worked_example.jsonl"
pytestmark = pytest.mark.django_db


def test_survey_offered_answered_once_and_home_section(client: Client, owner: User) -> None:
    client.force_login(owner)
    assert "Quarterly developer survey" in client.get("/").content.decode()
    assert "Answer (2 questions)" in client.get("/").content.decode()
    bad = client.post("/metrics/survey/", {"score": "11", "improvement": "x"})
    assert bad.status_code == 422
    assert "Choose a score from 0 to 10." in bad.content.decode()
    assert SurveyResponse.objects.count() == 0
    assert (
        client.post("/metrics/survey/", {"score": "9", "improvement": "Faster CI"}).status_code
        == 302
    )
    again = client.post(
        "/metrics/survey/", {"score": "2", "improvement": "changed my mind"}, follow=True
    )
    assert "already answered" in again.content.decode()
    answer = SurveyResponse.objects.get()
    assert (answer.score, answer.improvement, answer.quarter) == (9, "Faster CI", current_quarter())
    assert "Answer (2 questions)" not in client.get("/").content.decode()


def test_survey_dismiss_counts_as_this_quarter(client: Client, owner: User) -> None:
    client.force_login(owner)
    client.post("/metrics/survey/dismiss", {"next": "/"})
    assert SurveyResponse.objects.get().dismissed
    assert "Answer (2 questions)" not in client.get("/").content.decode()
    assert "already answered (or dismissed)" in client.get("/metrics/survey/").content.decode()


def test_survey_results_distribution_mean_nps(client: Client, platform_admin: User) -> None:
    q = current_quarter()
    for i, score in enumerate([10, 9, 8, 6, 0]):
        u = User.objects.create_user(f"dev{i}")
        SurveyResponse.objects.create(user=u, quarter=q, score=score, improvement=f"idea {i}")
    r = survey_results(q)
    assert r["distribution"][10] == 1
    assert r["distribution"][0] == 1
    assert r["mean"] == 6.6
    assert (r["promoters"], r["passives"], r["detractors"], r["nps"]) == (2, 1, 2, 0)
    client.force_login(platform_admin)
    html = client.get("/metrics/survey/results/").content.decode()
    assert "idea 3" in html
    assert "<svg" in html


class _Slack(BaseHTTPRequestHandler):
    received: list[dict[str, Any]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Slack.received.append(json.loads(body))
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def slack() -> Iterator[str]:
    server = HTTPServer(("127.0.0.1", 0), _Slack)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Slack.received.clear()
    yield f"http://127.0.0.1:{server.server_port}/hook"
    server.shutdown()


def test_weekly_report_page_email_and_slack(client: Client, owner: User, slack: str) -> None:
    call_command("metrics", "import-events", str(EXAMPLE), stdout=StringIO())
    report = generate_weekly_report(date(2026, 3, 2))
    assert report.data["deployment_frequency"]["deployments"] == 5
    assert report.data["change_failure_rate"] == 0.6
    assert report.data["lead_time_for_changes_minutes"] == 360.0  # 6 h median, in minutes
    with override_settings(
        PAVED_SLACK_WEBHOOK_URL=slack, PAVED_METRICS_REPORT_EMAILS=["platform@example.com"]
    ):
        send_weekly_report(report)
    assert "Change failure rate: 60%" in _Slack.received[0]["text"]
    assert mail.outbox[0].to == ["platform@example.com"]
    assert "Lead time for changes: 360.0 min" in mail.outbox[0].body
    report.refresh_from_db()
    assert report.slack_status == "sent (200)"
    client.force_login(owner)
    assert "Week of 2026-03-02" in client.get("/metrics/reports/").content.decode()
    assert "60%" in client.get("/metrics/reports/2026-03-02/").content.decode()
    generate_weekly_report(date(2026, 3, 2))  # idempotent per week
    assert WeeklyReport.objects.count() == 1


def test_slack_failure_is_recorded_not_raised() -> None:
    report = generate_weekly_report(date(2026, 3, 2))
    with override_settings(PAVED_SLACK_WEBHOOK_URL="http://127.0.0.1:9/none"):
        send_weekly_report(report)
    assert WeeklyReport.objects.get().slack_status.startswith("failed")


def test_previous_week_and_beat_schedule() -> None:
    assert previous_week(date(2026, 3, 9)) == date(2026, 3, 2)  # a Monday → the week before
    assert previous_week(date(2026, 3, 12)) == date(2026, 3, 2)
    entry = settings.CELERY_BEAT_SCHEDULE["metrics-weekly-report"]
    assert entry["task"] == "metrics.weekly_report"
    assert getattr(entry["schedule"], "day_of_week", None) == {1}  # Monday


@pytest.mark.parametrize(
    ("next_url", "lands_on"),
    [
        ("/catalog/", "/catalog/"),
        ("//evil.example/", "/"),
        ("/\\evil.example/", "/"),
        ("https://evil.example/", "/"),
        ("", "/"),
    ],
)
def test_survey_dismiss_only_returns_to_this_site(
    client: Client, owner: User, next_url: str, lands_on: str
) -> None:
    client.force_login(owner)
    response = client.post("/metrics/survey/dismiss", {"next": next_url})
    assert response.status_code == 302
    assert response["Location"] == lands_on


def test_survey_results_are_for_the_platform_team_only(client: Client, owner: User) -> None:
    client.force_login(owner)
    response = client.get("/metrics/survey/results/")
    assert response.status_code == 403
    assert "Survey results are for the platform team." in response.content.decode()
