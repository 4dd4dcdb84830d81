"""The golden path on the embedded providers (local git + gitops), in process and on a real
worker. Skipped until the providers are on the branch (they land with the providers work)."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.conf import settings
from django.contrib.auth.models import User
from django.test import override_settings

from catalog.models import Entity
from runs.models import Run, RunStatus, StepStatus
from scaffolder.demo import load_builtin_templates
from scaffolder.models import TemplateVersion
from scaffolder.services import start_template_run
from tests.conftest import wait_for
from tests.scaffolder.test_template_runs import drive

pytest.importorskip("portal.providers.local_git")
pytest.importorskip("portal.providers.gitops")

EMBEDDED = override_settings(
    PAVED_GIT_PROVIDER="local", PAVED_DEPLOY_PROVIDER="gitops", PAVED_CLUSTER_PROVIDER="gitops"
)
VALUES = {"name": "orders-api", "owner": "group:default/team-orders",
          "repoUrl": "localhost?owner=team-orders&repo=orders-api"}  # fmt: skip


def _check_results(run: Run) -> None:
    from portal.providers import cluster, git_host

    assert run.status == RunStatus.SUCCEEDED, (
        run.error,
        list(run.steps.values_list("key", "error")),
    )
    host = git_host()
    repo = host.get_repository("team-orders", "orders-api")
    assert repo is not None
    files = host.list_files(repo)
    assert {"app/main.py", "Dockerfile", "deploy/k8s/rollout.yaml", "docs/runbook.md"} <= set(files)
    info = yaml.safe_load(host.read_file(repo, "catalog-info.yaml") or b"")
    assert info["spec"]["owner"] == "group:default/team-orders"
    owner, _, name = str(getattr(settings, "PAVED_GITOPS_REPO", "")).partition("/")
    gitops = host.get_repository(owner, name)
    assert gitops is not None
    manifests = "\n".join(host.list_files(gitops))
    assert "orders-api" in manifests
    assert cluster().name == "gitops"
    assert Entity.objects.filter(ref="component:default/orders-api").exists()


@pytest.mark.django_db
@EMBEDDED
def test_golden_path_on_embedded_providers(owner: User, git_root: Path) -> None:
    load_builtin_templates()
    version = TemplateVersion.objects.get(ref="template:default/python-service")
    run = drive(start_template_run(version=version, values=VALUES, actor=owner))
    _check_results(run)
    host_repo_commits = run.steps.get(key="publish").outputs["commitHash"]
    assert len(host_repo_commits) == 40
    # The owning team is recorded on the repository (`access: owner` in the template).
    team = subprocess.run(
        ["git", "config", "--get", "paved.team"],
        cwd=git_root / "team-orders" / "orders-api.git",
        capture_output=True,
        text=True,
        check=False,
    )
    assert team.stdout.strip() == "team-orders"


@pytest.fixture
def worker_env(worker_env: dict[str, str], tmp_path: Path, settings: Any) -> dict[str, str]:
    settings.PAVED_GIT_LOCAL_ROOT = tmp_path / "git"
    return {**worker_env, "PAVED_GIT_LOCAL_ROOT": str(tmp_path / "git"), "PAVED_GIT_PROVIDER": "local",
            "PAVED_DEPLOY_PROVIDER": "gitops", "PAVED_CLUSTER_PROVIDER": "gitops"}  # fmt: skip


@pytest.mark.django_db(transaction=True)
@EMBEDDED
def test_golden_path_on_a_real_worker(owner: User, celery_worker: Any) -> None:
    load_builtin_templates()
    version = TemplateVersion.objects.get(ref="template:default/python-service")
    run = start_template_run(version=version, values=VALUES, actor=owner)
    wait_for(lambda: Run.objects.get(pk=run.pk).is_finished, timeout=60)
    run = Run.objects.get(pk=run.pk)
    _check_results(run)
    statuses = dict(run.steps.values_list("key", "status"))
    skipped = {"oncall-opsgenie", "oncall-pagerduty"}  # no on-call provider: the team step records
    assert all(s == StepStatus.SKIPPED for k, s in statuses.items() if k in skipped), statuses
    assert all(s == StepStatus.SUCCEEDED for k, s in statuses.items() if k not in skipped)
    assert [link["title"] for link in run.outputs["links"]][:2] == ["Repository", "Open in catalog"]
