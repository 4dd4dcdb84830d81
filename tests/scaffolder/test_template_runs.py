"""Real template runs through the engine: the golden path end to end, versions, bad values."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from django.contrib.auth.models import User
from django.test import override_settings

from catalog.models import Entity, Relation
from runs.models import Run, RunLogLine, RunStatus, Step, StepStatus
from runs.runner import RunStartError, advance_run, execute_step, retry_run
from runs.workspace import workspace_path
from scaffolder.demo import load_builtin_templates
from scaffolder.models import TemplateVersion
from scaffolder.services import save_template, start_template_run, version_for_entity
from tests.scaffolder.providers import DiskGitHost

pytestmark = [pytest.mark.django_db]

TEST_PROVIDERS = override_settings(
    PAVED_GIT_PROVIDER="test", PAVED_DEPLOY_PROVIDER="test", PAVED_CLUSTER_PROVIDER="test"
)


@pytest.fixture(autouse=True)
def _providers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAVED_TEST_PROVIDER_DIR", str(tmp_path / "providers"))


def drive(run: Run) -> Run:
    """Execute the run's steps in this process, as a worker would."""
    for _ in range(30):
        advance_run(run.pk)
        run.refresh_from_db()
        if run.is_finished:
            return run
        step = run.steps.filter(status=StepStatus.PENDING).order_by("position").first()
        assert step is not None
        execute_step(step.pk)
    raise AssertionError("run did not finish")


def golden_values() -> dict[str, object]:
    return {"name": "orders-api", "owner": "group:default/team-orders",
            "repoUrl": "git.test?owner=team-orders&repo=orders-api"}  # fmt: skip


@TEST_PROVIDERS
def test_golden_path_end_to_end(owner: User) -> None:
    load_builtin_templates()
    entity = Entity.objects.get(ref="template:default/python-service")
    version = version_for_entity(entity)
    run = drive(start_template_run(version=version, values=golden_values(), actor=owner))
    assert run.status == RunStatus.SUCCEEDED, (
        run.error,
        list(run.steps.values_list("key", "error")),
    )
    assert [s.key for s in run.steps.order_by("position")] == [
        "oncall-pagerduty",
        "oncall-opsgenie",
        "oncall-team",
        "fetch",
        "publish",
        "namespace",
        "argocd",
        "register",
    ]
    # No on-call provider configured: the team-only step records the team, the others skip.
    statuses = dict(run.steps.values_list("key", "status"))
    assert statuses["oncall-team"] == StepStatus.SUCCEEDED
    assert statuses["oncall-opsgenie"] == statuses["oncall-pagerduty"] == StepStatus.SKIPPED
    assert run.steps.get(key="oncall-team").outputs == {
        "onCall": "group:default/team-orders",
        "rotation": None,
    }
    warnings = RunLogLine.objects.filter(run=run, level="WARNING").values_list("message", flat=True)
    assert any(
        "has no on-call tool (PagerDuty or Opsgenie) connected" in w
        and "no rotation was created" in w
        for w in warnings
    ), list(warnings)
    assert run.context["template"]["version_id"] == version.pk
    assert run.context["platform"]["secretStore"] == "platform-secrets"
    assert run.owner_ref == "group:default/team-orders"
    # One commit holding the whole rendered workspace (the on-call team is rendered in).
    host = DiskGitHost()
    assert len(host.commits("team-orders", "orders-api")) == 1
    assert host.team_of("team-orders", "orders-api") == "team-orders"  # `access: owner`
    repo = host.get_repository("team-orders", "orders-api")
    assert repo is not None
    files = host.list_files(repo)
    for expected in ("app/main.py", "tests/test_health.py", "Dockerfile", ".github/workflows/ci.yaml",
                     "deploy/k8s/rollout.yaml", ".devcontainer/devcontainer.json", "docs/runbook.md",
                     "catalog-info.yaml", "app/telemetry.py"):  # fmt: skip
        assert expected in files
    runbook = (host.read_file(repo, "docs/runbook.md") or b"").decode()
    assert "**team-orders** is on call" in runbook
    info = yaml.safe_load(host.read_file(repo, "catalog-info.yaml") or b"")
    assert info["metadata"]["annotations"]["argocd/app-name"] == "orders-api-dev"
    assert info["metadata"]["annotations"]["paved.dev/on-call"] == "group:default/team-orders"
    assert "canary:" in (host.read_file(repo, "deploy/k8s/rollout.yaml") or b"").decode()
    # Registered in the catalog, owned by the team, and linked from the run's output.
    component = Entity.objects.get(ref="component:default/orders-api")
    assert component.owner_ref == "group:default/team-orders"
    assert Relation.objects.filter(
        source=component, type="ownedBy", target_ref="group:default/team-orders"
    ).exists()
    titles = [link["title"] for link in run.outputs["links"]]
    assert titles == ["Repository", "Open in catalog"]
    assert run.outputs["links"][0]["url"] == "http://git.test/team-orders/orders-api"
    assert "orders-api-dev" in run.outputs["text"][0]["content"]
    assert "<strong>orders-api-dev</strong>" in run.outputs["text"][0]["html"]
    assert not workspace_path(run).exists()  # removed once the files are in the repository


@TEST_PROVIDERS
def test_retrying_the_whole_run_is_idempotent(owner: User) -> None:
    load_builtin_templates()
    version = TemplateVersion.objects.get(ref="template:default/python-service")
    run = drive(start_template_run(version=version, values=golden_values(), actor=owner))
    assert run.status == RunStatus.SUCCEEDED
    Run.objects.filter(pk=run.pk).update(status=RunStatus.FAILED)
    retry_run(run, actor=owner, from_step="fetch")
    run = drive(run)
    assert run.status == RunStatus.SUCCEEDED
    assert len(DiskGitHost().commits("team-orders", "orders-api")) == 1
    assert Entity.objects.filter(ref="component:default/orders-api").count() == 1


def test_invalid_values_never_start_a_run(owner: User) -> None:
    load_builtin_templates()
    version = TemplateVersion.objects.get(ref="template:default/python-service")
    with pytest.raises(RunStartError) as info:
        start_template_run(
            version=version, values={"name": "Bad Name!", "repoUrl": "nope"}, actor=owner
        )
    text = "\n".join(info.value.problems)
    assert "name: Use only lower-case letters, digits and dashes" in text
    assert "“bad-name” would do" in text
    assert "[a-z]" not in text  # never the regular expression itself
    assert "owner: This field is required." in text
    assert "repoUrl:" in text
    assert not Run.objects.exists()


@TEST_PROVIDERS
def test_failing_expression_fails_the_step_naming_it_and_is_retryable(owner: User) -> None:
    version = save_template(
        yaml_text=(
            "apiVersion: scaffolder.backstage.io/v1beta3\nkind: Template\nmetadata: {name: broken}\n"
            "spec:\n  type: service\n  steps:\n    - id: first\n      action: debug:log\n"
            "      input: {message: ok}\n    - id: bad\n      action: debug:log\n"
            "      input:\n        message: ${{ parameters.x | parseRepoUrl }}\n"
        ),
        actor=None,
    )
    run = drive(start_template_run(version=version, values={}, actor=owner))
    assert run.status == RunStatus.FAILED
    bad = Step.objects.get(run=run, key="bad")
    assert bad.status == StepStatus.FAILED
    assert "step 'bad' input.message" in bad.error
    assert "parseRepoUrl" in bad.error
    assert run.can_retry


def test_template_versions_are_recorded_per_content() -> None:
    text = Path("scaffolder/templates_builtin/docs-site/template.yaml").read_text()
    first = save_template(yaml_text=text, actor=None)
    again = save_template(yaml_text=text, actor=None)
    changed = save_template(
        yaml_text=text.replace("Static documentation site", "Docs site"), actor=None
    )
    assert first.pk == again.pk
    assert first.version == 1
    assert changed.version == 2
    assert Entity.objects.get(ref="template:default/docs-site").title == "Docs site"


@TEST_PROVIDERS
def test_docs_site_each_step(owner: User) -> None:
    load_builtin_templates()
    version = TemplateVersion.objects.get(ref="template:default/docs-site")
    values = {"name": "team-docs", "owner": "team-orders", "repoUrl": "git.test?owner=team-orders&repo=team-docs",
              "sections": ["intro", "faq"]}  # fmt: skip
    run = drive(start_template_run(version=version, values=values, actor=owner))
    assert run.status == RunStatus.SUCCEEDED, run.error
    host = DiskGitHost()
    repo = host.get_repository("team-orders", "team-docs")
    assert repo is not None
    assert {"docs/intro.md", "docs/faq.md", "mkdocs.yml"} <= set(host.list_files(repo))
    step = Step.objects.get(run=run, key="section")
    assert [i["targetPath"] for i in step.resolved_inputs["__each__"]] == [
        "docs/intro.md",
        "docs/faq.md",
    ]


@TEST_PROVIDERS
def test_publishing_never_overwrites_another_teams_repository(owner: User) -> None:
    load_builtin_templates()
    host = DiskGitHost()
    version = TemplateVersion.objects.get(ref="template:default/python-service")
    run = start_template_run(version=version, values=golden_values(), actor=owner)
    # Another team's repository appears after Create checked the name (which refuses it when
    # it is already there): the publish step itself must not write over it.
    theirs, _ = host.ensure_repository("team-orders", "orders-api")
    host.commit_files(theirs, {"README.md": b"their service\n"}, message="theirs")
    run = drive(run)
    assert run.status == RunStatus.FAILED
    error = Step.objects.get(run=run, key="publish").error
    assert "team-orders/orders-api already exists with other content" in error
    assert len(host.commits("team-orders", "orders-api")) == 1  # untouched
    assert host.read_file(theirs, "README.md") == b"their service\n"


SMALL_TEMPLATE = """
apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata: {name: small, title: Small}
spec:
  owner: group:default/team-orders
  type: service
  steps:
    - id: hello
      action: debug:log
      input: {message: hi}
"""


def test_two_first_uses_of_a_changed_template_agree_on_its_version(owner: User) -> None:
    """Another request records the same new content between our read of the last version and
    our insert (simulated on the INSERT itself): we use its row instead of failing."""
    from django.db import connection

    from scaffolder.services import save_template

    save_template(yaml_text=SMALL_TEMPLATE, actor=owner)
    entity = Entity.objects.get(ref="template:default/small")
    Entity.objects.filter(pk=entity.pk).update(spec={**entity.spec, "type": "website"})
    entity.refresh_from_db()
    competitor: list[TemplateVersion] = []

    def record_first(execute, sql, params, many, context):
        if sql.startswith('INSERT INTO "scaffolder_templateversion"') and not competitor:
            competitor.append(TemplateVersion(pk=None))  # mark: only once
            execute(sql, params, many, context)  # the other request's identical insert wins
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record_first):
        version = version_for_entity(entity)
    assert competitor
    assert TemplateVersion.objects.filter(ref="template:default/small").count() == 2
    assert version.version == 2


def test_a_template_without_steps_runs_and_shows_its_output(owner: User) -> None:
    version = save_template(
        yaml_text=(
            "apiVersion: scaffolder.backstage.io/v1beta3\nkind: Template\nmetadata: {name: links}\n"
            "spec:\n  type: documentation\n  steps: []\n  output:\n    text:\n"
            "      - {title: Read me, content: 'Nothing to create: read the guide.'}\n"
        ),
        actor=None,
    )
    run = drive(start_template_run(version=version, values={}, actor=owner))
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert [s.kind for s in run.steps.all()] == ["debug:log"]
    assert run.outputs["text"][0]["content"] == "Nothing to create: read the guide."
