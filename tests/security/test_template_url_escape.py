"""A template's relative `url` may go up with `..` within the repository it came from (as in
Backstage, where templates share skeletons), never outside it: not by `..`, not through a
symlink committed into the repository, not into Paved's own data folder."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from runs.models import RunLogLine, Step
from scaffolder.dry_run import dry_run
from scaffolder.loader import load_template_file
from scaffolder.services import save_template_file
from tests.security.conftest import attempt, commits, template_doc

SECRET = "s3cr3t-outside-the-repository"


def _checkout(tmp_path: Path, steps: list[dict[str, Any]], name: str) -> Path:
    """A template repository checked out on the server, next to a file that is not in it."""
    (tmp_path / "outside").mkdir(exist_ok=True)
    (tmp_path / "outside" / "secret.txt").write_text(SECRET)
    repo = tmp_path / f"{name}-repo"
    (repo / "templates" / name).mkdir(parents=True)
    (repo / "skeletons").mkdir()
    (repo / "skeletons" / "escape").symlink_to(tmp_path / "outside")
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    path = repo / "templates" / name / "template.yaml"
    path.write_text(template_doc(name, steps))
    return path


def _steal(url: str) -> list[dict[str, Any]]:
    return [
        {"id": "grab", "action": "fetch:plain:file", "input": {"url": url, "targetPath": "x"}},
        {"id": "out", "action": "publish:git",
         "input": {"repoUrl": "localhost?owner=team-payments&repo=loot"}},
    ]  # fmt: skip


@pytest.mark.django_db(transaction=True)
def test_a_relative_url_cannot_leave_the_templates_repository(
    embedded: Path,
    tmp_path: Path,
    platform_admin: User,
    attacker_client: Client,
    celery_worker: Any,
) -> None:
    # The platform team published the templates; their author wrote the urls.
    for name, url in (
        ("updots", "../../../outside/secret.txt"),
        ("symlink", "../../skeletons/escape/secret.txt"),
    ):
        save_template_file(_checkout(tmp_path, _steal(url), name), actor=platform_admin)
        status, error = attempt(attacker_client, f"template:default/{name}", {"go": "x"})
        assert status == "failed", (name, error)
        failed = Step.objects.get(run__title__startswith=name, key="grab")
        assert "leads outside the repository the template came from" in failed.error
        assert not Step.objects.filter(
            run__title__startswith=name, key="out", status="succeeded"
        ).exists()
    assert commits("team-payments", "loot") == []
    assert not RunLogLine.objects.filter(message__contains=SECRET).exists()
    assert not Step.objects.filter(outputs__icontains=SECRET).exists()


@pytest.mark.django_db
def test_a_relative_url_cannot_read_paveds_data_folder(tmp_path: Path, settings: Any) -> None:
    path = _checkout(tmp_path, [], "data")
    settings.PAVED_DATA_DIR = path.parents[2] / "var"
    (settings.PAVED_DATA_DIR / "secret_key").parent.mkdir(parents=True)
    (settings.PAVED_DATA_DIR / "secret_key").write_text(SECRET)
    path.write_text(template_doc("data", _steal("../../var/secret_key")[:1]))
    result = dry_run(load_template_file(path), {"go": "x"}, workspace=tmp_path / "ws", platform={})
    assert result.status == "failed"
    assert "leads into Paved's data folder" in str(result.error)
    assert result.files == {}


def test_a_template_rendered_from_its_snapshot_stays_inside_the_snapshot(
    tmp_path: Path, settings: Any
) -> None:
    """A version's own copy of its files lives in the data folder (template upgrades render old
    versions from it): it reads its own skeleton, and `..` stops at the snapshot's folder,
    even when the data folder sits inside a git checkout."""
    checkout = tmp_path / "checkout"
    subprocess.run(["git", "init", "-q", str(checkout)], check=True)
    settings.PAVED_DATA_DIR = checkout / "var"
    (settings.PAVED_DATA_DIR / "secret_key").parent.mkdir(parents=True)
    (settings.PAVED_DATA_DIR / "secret_key").write_text(SECRET)
    snapshot = settings.PAVED_DATA_DIR / "template-snapshots" / "7-abc" / "tpl"
    (snapshot / "skeleton").mkdir(parents=True)
    (snapshot / "skeleton" / "README.md").write_text("hello\n")
    path = snapshot / "template.yaml"
    own = [{"id": "own", "action": "fetch:plain", "input": {"url": "./skeleton"}}]
    path.write_text(template_doc("snap", own))
    result = dry_run(load_template_file(path), {"go": "x"}, workspace=tmp_path / "ws", platform={})
    assert result.status == "completed", result.error
    assert result.files == {"README.md": b"hello\n"}
    for url in ("../../../secret_key", "../../../../var/secret_key"):
        path.write_text(template_doc("snap", _steal(url)[:1]))
        result = dry_run(
            load_template_file(path),
            {"go": "x"},
            workspace=tmp_path / url.count("/").__str__(),
            platform={},
        )
        assert result.status == "failed"
        assert "leads outside the repository the template came from" in str(result.error)
        assert result.files == {}
