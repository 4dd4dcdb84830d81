"""A dry run is the real run's step procedure with side-effect-free step kinds: for every
built-in template, run for real on the embedded providers (local git, GitOps) and dry, each step
must receive the same resolved inputs and give outputs of the same shape.

Values that come from an earlier step's outputs (`steps.publish.output.remoteUrl`) or from the
run's id (`context.task.id`) are plausible in a dry run, not equal: for those only the shape
is compared."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import override_settings

from runs.models import Run, RunStatus, StepStatus
from scaffolder.demo import load_builtin_templates
from scaffolder.dry_run import dry_run
from scaffolder.loader import step_id
from scaffolder.models import TemplateVersion
from scaffolder.services import save_template, start_template_run, template_of
from tests.scaffolder.test_template_runs import drive

ROOT = Path(__file__).resolve().parents[2]
BUILTIN = sorted(p.parent.name for p in (ROOT / "scaffolder/templates_builtin").glob("*/*.yaml"))
EMBEDDED = override_settings(
    PAVED_GIT_PROVIDER="local", PAVED_DEPLOY_PROVIDER="gitops", PAVED_CLUSTER_PROVIDER="gitops"
)
OWNER = "group:default/team-orders"
# Every built-in template needs its values here: a new one without them fails the test.
VALUES: dict[str, dict[str, Any]] = {
    "python-service": {"name": "orders-api", "owner": OWNER,
                       "repoUrl": "localhost?owner=team-orders&repo=orders-api"},
    "each-repos": {"name": "orders-docs", "owner": OWNER, "names": ["orders-a", "orders-b"]},
    "docs-site": {"name": "orders-docs", "owner": OWNER, "title": "Orders",
                  "repoUrl": "localhost?owner=team-orders&repo=orders-docs",
                  "sections": ["getting-started", "how-to", "runbook"]},
}  # fmt: skip
# Not built in: an `each` step whose kind gives outputs, so that their lists are compared too.
EACH_TEMPLATE = """
apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata: {name: each-repos, title: One repository per name}
spec:
  owner: group:default/team-orders
  type: documentation
  parameters:
    - properties:
        name: {type: string}
        owner: {type: string}
        names: {type: array, items: {type: string}}
  steps:
    - id: fetch
      action: fetch:template
      input: {url: ./skeleton, values: {name: "${{ parameters.name }}", title: Each,
              owner: "${{ parameters.owner }}", sections: []}}
    - id: publish
      action: publish:git
      each: ${{ parameters.names }}
      input: {repoUrl: "localhost?owner=team-orders&repo=${{ each.value }}"}
    - id: log
      action: debug:log
      input: {message: "${{ steps.publish.output.remoteUrl | join(', ') }}"}
"""
# What an expression reads that a dry run can only make up.
RUN_DEPENDENT = ("steps.", "steps[", "context.task")


def run_dependent(raw: Any) -> bool:
    return any(marker in str(raw) for marker in RUN_DEPENDENT)


def compare(raw: Any, real: Any, dry: Any, where: str) -> None:
    """Equal, except where the template's expression reads a value only a real run has."""
    if isinstance(real, dict) and isinstance(dry, dict):
        assert set(real) == set(dry), f"{where}: keys {sorted(real)} != {sorted(dry)}"
        for key in real:
            inner = raw.get(key) if isinstance(raw, dict) else raw
            compare(inner, real[key], dry[key], f"{where}.{key}")
    elif isinstance(real, list) and isinstance(dry, list) and not run_dependent(raw):
        assert len(real) == len(dry), f"{where}: {len(real)} items != {len(dry)}"
        for index, (real_item, dry_item) in enumerate(zip(real, dry, strict=True)):
            inner = raw[index] if isinstance(raw, list) and index < len(raw) else raw
            compare(inner, real_item, dry_item, f"{where}[{index}]")
    elif not run_dependent(raw):
        assert real == dry, f"{where}: {real!r} != {dry!r}"


def assert_same_inputs(key: str, raw: dict[str, Any], real: Any, dry: Any) -> None:
    if "__each__" in real:
        assert len(real["__each__"]) == len(dry["__each__"]), f"step {key!r}: items"
        for index, (one, other) in enumerate(zip(real["__each__"], dry["__each__"], strict=True)):
            compare(raw, one, other, f"step {key!r} item {index + 1} input")
    else:
        compare(raw, real, dry, f"step {key!r} input")


def test_every_builtin_template_has_values() -> None:
    assert sorted(VALUES) == sorted([*BUILTIN, "each-repos"])


def _version(name: str, owner: User) -> TemplateVersion:
    if name == "each-repos":
        base_dir = ROOT / "scaffolder/templates_builtin/docs-site"
        return save_template(yaml_text=EACH_TEMPLATE, actor=None, base_dir=str(base_dir))
    load_builtin_templates()
    return TemplateVersion.objects.get(ref=f"template:default/{name}")


@pytest.mark.django_db
@EMBEDDED
@pytest.mark.parametrize("name", [*BUILTIN, "each-repos"])
def test_dry_run_and_real_run_give_every_step_the_same(
    name: str, owner: User, git_root: Path, tmp_path: Path
) -> None:
    version = _version(name, owner)
    run = drive(start_template_run(version=version, values=VALUES[name], actor=owner))
    assert run.status == RunStatus.SUCCEEDED, (run.error, list(run.steps.values("key", "error")))
    template = template_of(version)
    dry = dry_run(template, VALUES[name], workspace=tmp_path / "dry",
                  user=run.context["user"], platform=run.context["platform"])  # fmt: skip
    assert dry.status == "completed", dry.error

    raw_inputs = {step_id(s, i): s.get("input") or {} for i, s in enumerate(template.steps)}
    real_steps = list(Run.objects.get(pk=run.pk).steps.order_by("position"))
    assert [s.key for s in real_steps] == [row["id"] for row in dry.steps]
    for real, row in zip(real_steps, dry.steps, strict=True):
        skipped = real.status == StepStatus.SKIPPED
        assert (row["status"] == "skipped") == skipped, f"step {real.key!r} ran in one only"
        if skipped:
            continue
        assert_same_inputs(real.key, raw_inputs[real.key], real.resolved_inputs, row["input"])
        real_out, dry_out = real.outputs, row["output"]
        assert set(dry_out) <= set(real_out), f"step {real.key!r}: the dry run invents outputs"
        for out_key, value in dry_out.items():
            assert isinstance(value, list) == isinstance(real_out[out_key], list), (
                f"step {real.key!r}: output {out_key!r} is a list in one run only"
            )
            if isinstance(value, list):
                assert len(value) == len(real_out[out_key]), f"{real.key}.{out_key}: length"
