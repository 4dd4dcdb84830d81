"""Workspaces of finished runs are garbage-collected by a beat job; retry recreates a removed one."""

from __future__ import annotations

import os
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from portal.celery import app
from runs.models import Run, RunLogLine, RunStatus, Step, StepStatus
from runs.runner import retry_run
from runs.tasks import collect_workspaces as collect_task
from runs.tasks import empty_workspace_trash as empty_task
from runs.workspace import (
    collect_workspaces,
    remove_workspace,
    workspace_for_run,
    workspace_path,
)
from scaffolder.demo import load_builtin_templates
from scaffolder.models import TemplateVersion
from scaffolder.services import start_template_run
from tests.scaffolder.providers import DiskGitHost
from tests.scaffolder.test_template_runs import TEST_PROVIDERS, drive, golden_values

pytestmark = [pytest.mark.django_db]


@pytest.fixture(autouse=True)
def _data_dir(tmp_path: Path, settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    settings.PAVED_DATA_DIR = tmp_path / "data"
    settings.PAVED_WORKSPACE_RETENTION_HOURS = 24
    monkeypatch.setenv("PAVED_TEST_PROVIDER_DIR", str(tmp_path / "providers"))


def _run(status: RunStatus, finished_hours_ago: float | None) -> Run:
    finished = (
        timezone.now() - timedelta(hours=finished_hours_ago)
        if finished_hours_ago is not None
        else None
    )
    run = Run.objects.create(kind="scaffolder", title="t", status=status, finished_at=finished)
    folder = workspace_for_run(run)
    (folder / "src").mkdir()
    (folder / "src" / "main.py").write_text("print('hi')\n")
    return run


def test_old_finished_workspaces_go_recent_and_active_ones_stay() -> None:
    old_failed = _run(RunStatus.FAILED, 30)
    old_cancelled = _run(RunStatus.CANCELLED, 25)
    old_succeeded = _run(RunStatus.SUCCEEDED, 48)  # normally removed at once; left over here
    recent_failed = _run(RunStatus.FAILED, 2)
    running = _run(RunStatus.RUNNING, None)
    Run.objects.filter(pk=running.pk).update(created_at=timezone.now() - timedelta(days=30))
    running.refresh_from_db()
    workspace_for_run(running)

    root = workspace_path(old_failed).parent
    # A folder no run owns (a deleted run): removed once old enough on disk, kept while fresh.
    orphan_old = root / "999999-20200101000000000000"
    orphan_new = root / "999998-20200101000000000000"
    for orphan in (orphan_old, orphan_new):
        orphan.mkdir()
        (orphan / "file.txt").write_text("x")
    two_days_ago = time.time() - 48 * 3600
    os.utime(orphan_old, (two_days_ago, two_days_ago))
    stray = root / "notes.txt"  # not a workspace folder: never touched
    stray.write_text("keep me")

    with CaptureQueriesContext(connection) as queries:
        removed = collect_workspaces()
    assert len(queries) == 1  # one query whatever the number of folders

    assert sorted(removed) == sorted(
        [
            workspace_path(old_failed).name,
            workspace_path(old_cancelled).name,
            workspace_path(old_succeeded).name,
            orphan_old.name,
        ]
    )
    for gone in (old_failed, old_cancelled, old_succeeded):
        assert not workspace_path(gone).exists()
    assert not orphan_old.exists()
    assert (workspace_path(recent_failed) / "src" / "main.py").read_text() == "print('hi')\n"
    assert workspace_path(running).exists()
    assert orphan_new.exists()
    assert stray.read_text() == "keep me"


def test_collect_task_is_scheduled_by_beat() -> None:
    entry = app.conf.beat_schedule["scaffolder-collect-workspaces"]
    assert entry["task"] == "scaffolder.collect_workspaces"
    assert collect_task.name == entry["task"]
    old = _run(RunStatus.FAILED, 100)
    assert collect_task.apply().get() == 1
    assert not workspace_path(old).exists()


@TEST_PROVIDERS
def test_retry_after_the_workspace_was_collected_fetches_again(owner: User) -> None:
    load_builtin_templates()
    version = TemplateVersion.objects.get(ref="template:default/python-service")
    run = drive(start_template_run(version=version, values=golden_values(), actor=owner))
    assert run.status == RunStatus.SUCCEEDED
    # Pretend publishing failed a long time ago and the workspace has been collected since.
    Step.objects.filter(
        run=run, position__gt=Step.objects.get(run=run, key="fetch").position
    ).update(status=StepStatus.PENDING, outputs={})
    Step.objects.filter(run=run, key="publish").update(status=StepStatus.FAILED, error="boom")
    Run.objects.filter(pk=run.pk).update(
        status=RunStatus.FAILED, finished_at=timezone.now() - timedelta(days=3)
    )
    run.refresh_from_db()
    workspace_for_run(run)
    assert collect_workspaces() == [workspace_path(run).name]

    retry_run(run, actor=owner, from_step="publish")
    assert Step.objects.get(run=run, key="fetch").status == StepStatus.PENDING
    run = drive(run)

    assert run.status == RunStatus.SUCCEEDED, list(run.steps.values_list("key", "error"))
    fetch = Step.objects.get(run=run, key="fetch")
    assert fetch.status == StepStatus.SUCCEEDED
    assert fetch.attempt == 1
    repo = DiskGitHost().get_repository("team-orders", "orders-api")
    assert repo is not None
    assert "app/main.py" in DiskGitHost().list_files(repo)
    assert RunLogLine.objects.filter(run=run, message__contains="workspace was removed").exists()


@TEST_PROVIDERS
def test_retry_keeps_earlier_steps_when_the_workspace_is_there(owner: User) -> None:
    load_builtin_templates()
    version = TemplateVersion.objects.get(ref="template:default/python-service")
    run = drive(start_template_run(version=version, values=golden_values(), actor=owner))
    Run.objects.filter(pk=run.pk).update(status=RunStatus.FAILED)
    workspace_for_run(run)
    retry_run(run, actor=owner, from_step="register")
    assert Step.objects.get(run=run, key="fetch").status == StepStatus.SUCCEEDED
    assert Step.objects.get(run=run, key="register").status == StepStatus.PENDING


def test_a_succeeded_runs_workspace_is_moved_aside_then_deleted_by_a_task() -> None:
    run = _run(RunStatus.SUCCEEDED, 0)
    remove_workspace(run, later=True)
    assert not workspace_path(run).exists()  # gone from its place at once (one rename)
    trash = workspace_path(run).parent / ".trash"
    assert [p.name.startswith(workspace_path(run).name) for p in trash.iterdir()] == [True]
    assert empty_task.apply().get() == 1
    assert list(trash.iterdir()) == []
    # The beat job empties the trash too, should the follow-up task be lost.
    other = _run(RunStatus.SUCCEEDED, 0)
    remove_workspace(other, later=True)
    collect_workspaces()
    assert list(trash.iterdir()) == []
