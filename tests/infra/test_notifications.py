"""People are told what waits for them: the deciders of an approval, the requester when it is
approved and in place; the count shows in the navigation and the mail goes out."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.test import Client

from catalog.models import Entity
from infra import services
from portal.models import Notification
from tests.infra.conftest import drive, latest_run
from tests.infra.test_flow import spec

pytestmark = pytest.mark.django_db(transaction=True)  # e-mail goes out on commit


def test_an_approval_waits_for_its_deciders_and_the_requester_hears_the_outcome(
    owner: User, team_lead: User, orders_service: Entity, cluster_dir: Path
) -> None:
    req = services.submit_request(spec=spec(), actor=owner)
    drive(latest_run(req.subject))
    waiting = Notification.objects.get(user=team_lead, kind="approval.waiting")
    assert waiting.title.startswith("Waiting for your approval: ")
    assert waiting.url == "/infra/approvals/"
    assert not Notification.objects.filter(user=owner, kind="approval.waiting").exists()
    assert any(team_lead.email in m.to for m in mail.outbox)

    lead_client = Client()
    lead_client.force_login(team_lead)
    badge = lead_client.get("/notifications/count", headers={"HX-Request": "true"})
    assert 'data-testid="notification-count">1<' in badge.content.decode()
    assert waiting.title in lead_client.get("/notifications/").content.decode()
    lead_client.post("/notifications/read")
    badge = lead_client.get("/notifications/count", headers={"HX-Request": "true"})
    assert "notification-count" not in badge.content.decode()

    drive(services.approve_request(approval=req.approvals.get(), actor=team_lead, comment="ok"))
    told = list(Notification.objects.filter(user=owner).values_list("kind", flat=True))
    assert "request.approved" in told
    assert "request.applied" in told


def test_a_failed_run_tells_the_person_who_started_it(owner: User) -> None:
    from runs.runner import StepSpec, start_run
    from tests.scaffolder.test_template_runs import drive as drive_run

    run = start_run(kind="scaffolder", title="Broken", actor=owner,
                    steps=[StepSpec(key="x", kind="test:broken", inputs={})])  # fmt: skip
    drive_run(run)
    note = Notification.objects.get(user=owner)
    assert note.kind == "run.failed"
    assert note.title == f"Run #{run.pk} failed: Broken"
    assert note.url == f"/runs/{run.pk}/"
