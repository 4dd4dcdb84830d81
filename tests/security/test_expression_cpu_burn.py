"""CPU burn through template expressions: a hostile template's nested loops, string
multiplication or big-string filters must not tie up a web request or a worker. Every entry point
answers quickly with a clear message naming the limit, and writes nothing."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client

from runs.models import Run, RunStatus, StepStatus
from scaffolder.models import TemplateVersion
from scaffolder.services import save_template, start_template_run
from tests.scaffolder.test_template_runs import drive

pytestmark = pytest.mark.django_db

NESTED_LOOP = "{% for a in 'x'*6000 %}{% for b in 'x'*6000 %}{% endfor %}{% endfor %}"
STRING_MULTIPLICATION = "${{ ('ab' * 100000000) | length }}"
BIG_REPLACE = "${{ ('x' * 100000) | replace('x', 'x' * 100000) | length }}"
# The JavaScript member Backstage templates may call, with the same check before it builds.
BIG_REPLACE_ALL = "${{ ('x' * 100000).replaceAll('x', 'x' * 100000).length }}"
FAST = 2.0  # seconds: the limit is 1 s, and the machine is shared


def _template(name: str, *, when: str = "true", message: str = "hello") -> str:
    return f"""
apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata: {{name: {name}}}
spec:
  owner: group:default/team-orders
  type: service
  parameters:
    - title: First
      properties:
        name: {{type: string}}
    - title: Second
      when: {json.dumps(when)}
      properties:
        other: {{type: string}}
  steps:
    - id: say
      action: debug:log
      input:
        message: {json.dumps(message)}
"""


@pytest.mark.parametrize(
    ("when", "limit"),
    [
        (NESTED_LOOP, "PAVED_EXPRESSION_MAX_ITERATIONS"),
        (STRING_MULTIPLICATION, "repeats a string or list more than 200000 characters"),
        (BIG_REPLACE, "the filter `replace` would build more than 200000 characters"),
        (BIG_REPLACE_ALL, "the method `replaceAll` would build more than 200000 characters"),
    ],
    ids=["nested-loop", "string-multiplication", "big-replace", "big-replace-all"],
)
def test_cpu_burn_in_a_page_when_answers_the_wizard_fast_with_a_clear_error(
    owner_client: Client, platform_admin: User, when: str, limit: str
) -> None:
    save_template(yaml_text=_template("burner", when=when), actor=platform_admin)
    started = time.monotonic()
    response = owner_client.get("/create/default/burner/")
    assert time.monotonic() - started < FAST
    assert response.status_code == 422
    page = response.content.decode()
    assert "This template cannot be used" in page
    assert "page when" in page
    assert limit in page
    assert "Traceback" not in page
    # Creating is refused the same way, and nothing starts.
    response = owner_client.post(
        "/create/default/burner/", {"state": "{}", "page": "0", "action": "create"}
    )
    assert response.status_code == 422
    assert not Run.objects.exists()


def test_lipsum_cycler_and_joiner_are_gone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("lipsum(1000, false, 100000, 100000)", "cycler(1, 2)", "joiner(',')"):
        template = tmp_path / "template.yaml"
        template.write_text(_template("gen", message="${{ " + name + " }}"))
        code, report = _dry_run(template, tmp_path / "out", capsys)
        assert code == 1
        assert report["status"] == "failed"
        assert f"'{name.split('(')[0]}' is undefined" in report["error"]


def _dry_run(
    template: Path, out: Path, capsys: pytest.CaptureFixture[str]
) -> tuple[int, dict[str, Any]]:
    with pytest.raises(SystemExit) as exit_info:
        call_command("scaffold", "dry-run", str(template), "--output", str(out), "--json")
    stdout = capsys.readouterr().out
    return int(exit_info.value.code or 0), json.loads(stdout)


@pytest.mark.parametrize(
    ("where", "limit"),
    [
        ("step", "PAVED_EXPRESSION_MAX_ITERATIONS"),
        ("when", "PAVED_EXPRESSION_MAX_ITERATIONS"),
    ],
)
def test_dry_run_cli_prints_the_limit_as_json_not_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], where: str, limit: str
) -> None:
    template = tmp_path / "template.yaml"
    text = (
        _template("burn", message=NESTED_LOOP)
        if where == "step"
        else _template("burn", when=NESTED_LOOP)
    )
    template.write_text(text)
    started = time.monotonic()
    code, report = _dry_run(template, tmp_path / "out", capsys)
    assert time.monotonic() - started < FAST
    assert code == 1
    assert report["status"] == "failed"
    assert limit in report["error"]
    assert "cannot evaluate" in report["error"]
    assert not any((tmp_path / "out").rglob("*"))


def test_skeleton_file_with_a_burn_fails_the_step_naming_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "tpl"
    (folder / "skeleton").mkdir(parents=True)
    (folder / "skeleton" / "burn.txt").write_text(NESTED_LOOP)
    (folder / "template.yaml").write_text(
        _template("skel").replace(
            '    - id: say\n      action: debug:log\n      input:\n        message: "hello"\n',
            "    - id: render\n      action: fetch:template\n      input: {url: ./skeleton}\n",
        )
    )
    started = time.monotonic()
    code, report = _dry_run(folder / "template.yaml", tmp_path / "out", capsys)
    assert time.monotonic() - started < FAST
    assert code == 1
    assert "file burn.txt" in report["error"]
    assert "PAVED_EXPRESSION_MAX_ITERATIONS" in report["error"]
    assert not (tmp_path / "out" / "burn.txt").exists()


def test_a_worker_step_with_a_burn_fails_with_the_message_instead_of_hanging(
    owner: User, platform_admin: User
) -> None:
    version = save_template(
        yaml_text=_template("worker-burn", message=NESTED_LOOP), actor=platform_admin
    )
    run = start_template_run(version=version, values={"name": "x"}, actor=owner)
    started = time.monotonic()
    run = drive(run)
    assert time.monotonic() - started < FAST * 2
    assert run.status == RunStatus.FAILED
    step = run.steps.get(key="say")
    assert step.status == StepStatus.FAILED
    assert "step 'say' input.message: cannot evaluate" in step.error
    assert "more than 10000 loop iterations" in step.error
    assert not run.log_lines.filter(message__contains="hello").exists()
    assert TemplateVersion.objects.count() == 1
