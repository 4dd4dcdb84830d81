"""A service the golden path just created reports its first deployment by itself: its Argo CD
Application is subscribed to Paved's notifications, the notification links to the component the
run registered, and the metrics page shows the minutes from template run to first deployment,
per service and per template."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.contrib.auth.models import User
from django.test import Client

from portal.providers.manifests import NOTIFY_ON_DEPLOYED
from runs.models import Run, RunStatus
from scaffolder.demo import load_builtin_templates
from scaffolder.models import TemplateVersion
from scaffolder.services import start_template_run
from tests.scaffolder.test_golden_path_embedded import EMBEDDED, VALUES
from tests.scaffolder.test_template_runs import drive


@pytest.mark.django_db
@EMBEDDED
def test_first_argo_cd_deployment_gives_template_to_production_time(
    owner: User, platform_admin: User, client: Client, settings: Any, tmp_path: Path
) -> None:
    from portal.providers import git_host

    settings.PAVED_GIT_LOCAL_ROOT = tmp_path / "git"
    settings.PAVED_ARGOCD_WEBHOOK_TOKEN = "argo-token"
    load_builtin_templates()
    version = TemplateVersion.objects.get(ref="template:default/python-service")
    run = drive(start_template_run(version=version, values=VALUES, actor=owner))
    assert run.status == RunStatus.SUCCEEDED, run.error
    run = Run.objects.get(pk=run.pk)
    assert run.context["component_ref"] == "component:default/orders-api"

    # The Application Paved committed is subscribed to the notifications trigger.
    host = git_host()
    owner_name, _, name = str(settings.PAVED_GITOPS_REPO).partition("/")
    gitops = host.get_repository(owner_name, name)
    [app] = [
        doc
        for path in host.list_files(gitops)
        if path.endswith(".yaml")
        for doc in yaml.safe_load_all(host.read_file(gitops, path) or b"")
        if doc and doc["kind"] == "Application"
    ]
    assert app["metadata"]["name"] == "orders-api-dev"
    assert app["metadata"]["annotations"] == {NOTIFY_ON_DEPLOYED: ""}

    # What Argo CD's on-deployed trigger posts once the app is synced and healthy.
    started = run.started_at or run.created_at
    deployed = started + timedelta(minutes=12)
    body = {"app": "orders-api-dev", "revision": "0a1b2c3d", "phase": "Succeeded",
            "finished_at": deployed.isoformat().replace("+00:00", "Z"), "environment": "dev",
            "repo": "http://paved.test/git/team-orders/orders-api.git"}  # fmt: skip
    posted = client.post("/hooks/argocd", json.dumps(body), content_type="application/json",
                         headers={"Authorization": "Bearer argo-token"})  # fmt: skip
    assert posted.status_code in (200, 202), posted.content

    client.force_login(platform_admin)
    page = client.get("/metrics/")
    assert page.status_code == 200
    html = page.content.decode()
    section = html[html.index('id="template-to-production"') :]
    section = section[: section.index("</section>")]
    assert "template:default/python-service" in section
    assert ">orders-api</a>" in section
    assert "(dev)" in section
    assert "<td>12</td>" in section  # minutes, per service
    assert "<td>12 min</td>" in section  # median, per template


@pytest.mark.django_db
def test_a_run_without_a_deployment_shows_not_yet(owner: User) -> None:
    from datetime import date

    from django.utils import timezone

    from metrics import platform

    now = timezone.now()
    Run.objects.create(kind="scaffolder", title="t", status=RunStatus.SUCCEEDED,
                       context={"component_ref": "component:default/quiet",
                                "template": {"ref": "template:default/python-service"}},
                       started_at=now, finished_at=now)  # fmt: skip
    result = platform.template_time_to_production(date.today() - timedelta(days=1), date.today())
    assert result["templates"] == [{"template": "template:default/python-service", "runs": 1,
                                    "deployed": 0, "median_minutes": None}]  # fmt: skip
    assert result["services"][0]["first_deployed_at"] is None
