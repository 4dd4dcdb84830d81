"""`scaffold run`: a real run on a real worker, waited for, exit code from its status."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import override_settings

from runs.models import Run, RunStatus
from scaffolder.demo import load_builtin_templates
from tests.scaffolder.providers import DiskGitHost

PROVIDERS = {
    "PAVED_GIT_PROVIDER": "test",
    "PAVED_DEPLOY_PROVIDER": "test",
    "PAVED_CLUSTER_PROVIDER": "test",
}


@pytest.fixture
def worker_env(
    worker_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    monkeypatch.setenv("PAVED_TEST_PROVIDER_DIR", str(tmp_path / "providers"))
    return {
        **worker_env,
        **PROVIDERS,
        "PAVED_TEST_PROVIDER_DIR": str(tmp_path / "providers"),
        "PAVED_EXTRA_STEP_MODULES": "tests.engine.steps,tests.scaffolder.worker_providers",
    }


@pytest.mark.django_db(transaction=True)
@override_settings(**PROVIDERS)
def test_scaffold_run_waits_for_the_run(
    owner: User, celery_worker: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    load_builtin_templates()
    values = tmp_path / "values.json"
    values.write_text(json.dumps({"name": "orders-api", "owner": "group:default/team-orders",
                                  "repoUrl": "git.test?owner=team-orders&repo=orders-api"}))  # fmt: skip
    with pytest.raises(SystemExit) as exit_info:
        call_command(
            "scaffold",
            "run",
            "python-service",
            "--values",
            str(values),
            "--as",
            owner.username,
            "--timeout",
            "60",
        )
    out = capsys.readouterr().out
    assert exit_info.value.code == 0, out
    run = Run.objects.get()
    assert run.status == RunStatus.SUCCEEDED
    assert f"Run #{run.pk} succeeded" in out
    assert "link: Repository: http://git.test/team-orders/orders-api" in out
    # Portal pages are printed as full addresses a terminal can open.
    assert f"{settings.PAVED_BASE_URL}/catalog/default/component/orders-api/" in out
    assert f"{settings.PAVED_BASE_URL}/runs/{run.pk}/" in out
    assert len(DiskGitHost().commits("team-orders", "orders-api")) == 1


@pytest.mark.django_db
def test_scaffold_run_rejects_bad_values(
    owner: User, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    load_builtin_templates()
    values = tmp_path / "values.json"
    values.write_text(json.dumps({"name": "X"}))
    with pytest.raises(SystemExit) as exit_info:
        call_command(
            "scaffold",
            "run",
            "template:default/python-service",
            "--values",
            str(values),
            "--as",
            owner.username,
        )
    assert exit_info.value.code == 1
    assert "name: Too short: use at least 3 characters." in capsys.readouterr().err
    assert not Run.objects.exists()
