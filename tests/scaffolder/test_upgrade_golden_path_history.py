"""The golden path's own history: a service made from the python-service template as it was
before the golden-path issue (commit 7b2eef8) is upgraded to today's template; the pull
request's tree is exactly what today's template generates (which the golden-path tests check:
test_golden_path_ci.py, test_golden_path_manifests.py), with the team's own change kept."""

from __future__ import annotations

import io
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.test import override_settings

from portal.providers import git_host
from runs.models import Run, RunStatus
from scaffolder.models import ServiceProvenance
from scaffolder.services import save_template_file, start_template_run
from scaffolder.upgrades.render import render_version
from scaffolder.upgrades.services import start_upgrade
from tests.scaffolder.upgrade_helpers import drive, tree

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = "scaffolder/templates_builtin/python-service"
BEFORE_GOLDEN_PATH_ISSUE = "7b2eef8"

pytestmark = [pytest.mark.django_db]


def _checkout_old(folder: Path) -> None:
    archive = subprocess.run(
        ["git", "archive", "--format=tar", BEFORE_GOLDEN_PATH_ISSUE, TEMPLATE],
        cwd=ROOT, capture_output=True, check=False,
    )  # fmt: skip
    if archive.returncode != 0:
        pytest.skip(f"the template's history is not in this checkout: {archive.stderr[:200]!r}")
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(folder.parent / "old", filter="data")
    shutil.copytree(folder.parent / "old" / TEMPLATE, folder)


@override_settings(
    PAVED_GIT_PROVIDER="local", PAVED_DEPLOY_PROVIDER="gitops", PAVED_CLUSTER_PROVIDER="gitops"
)
def test_service_from_the_old_golden_path_upgrades_to_todays(
    owner: User, git_root: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "python-service"
    _checkout_old(folder)
    old = save_template_file(folder / "template.yaml")
    values = {"name": "orders-api", "owner": "group:default/team-orders",
              "repoUrl": "localhost?owner=team-orders&repo=orders-api"}  # fmt: skip
    run = drive(start_template_run(version=old, values=values, actor=owner))
    assert run.status == RunStatus.SUCCEEDED, (run.error, list(run.steps.values("key", "error")))
    provenance = ServiceProvenance.objects.get(repository="team-orders/orders-api")
    host = git_host()
    repo = host.get_repository("team-orders", "orders-api")
    assert repo is not None
    ours = tree(repo, "main")
    host.commit_files(repo, {"docs/team.md": b"# Our team\n"}, message="team", branch="main")

    shutil.rmtree(folder)
    shutil.copytree(ROOT / TEMPLATE, folder)
    today = save_template_file(folder / "template.yaml")
    assert today.version == old.version + 1
    upgrade = start_upgrade(provenance=provenance, to_version=today, actor=owner)
    assert upgrade is not None
    done = drive(Run.objects.get(pk=upgrade.run_pk))
    assert done.status == RunStatus.SUCCEEDED, done.steps.get().error
    upgrade.refresh_from_db()
    assert upgrade.conflicts == []
    proposed = tree(repo, upgrade.branch)
    expected = {p: d.decode() for p, d in render_version(today, provenance).items()}
    expected["docs/team.md"] = "# Our team\n"
    assert proposed == expected
    assert proposed != ours
