"""publish:github on GitHub's failure paths, through the run engine: a retry after any failure
between "create" and "mark as Paved's" finishes the repository exactly once; a repository that
existed before the run is never adopted; what GitHub refuses for good is a warning on the run
(and on the component's scorecard), never a silent success."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from django.contrib.auth.models import User

from catalog.models import Entity
from metrics.scorecards.rules import RULES, BatchCache, RuleContext
from runs.authority import REPOSITORY, note_attempt, record_for, reserve
from runs.models import Run, RunStatus, Step, StepStatus
from runs.runner import StepSpec, advance_run, execute_step, start_run
from scaffolder.services import save_template, start_template_run
from tests.conftest import WorkerProcess, wait_for

STEPS = """
    - id: write
      action: catalog:write
      input:
        entity:
          apiVersion: backstage.io/v1alpha1
          kind: Component
          metadata: {name: orders-api, annotations: {github.com/project-slug: acme/orders-api}}
          spec: {type: service, owner: team-orders, lifecycle: experimental}
    - id: publish
      action: publish:github
      input: {repoUrl: 'github.com?owner=acme&repo=orders-api', topics: [python]}
"""


@pytest.fixture
def github_run_settings(github_settings: Any) -> Any:
    github_settings.PAVED_GIT_PROVIDER = "github"
    github_settings.PAVED_SHARED_REPOSITORY_OWNERS = ["acme"]
    github_settings.PAVED_STEP_RETRY_BACKOFF_SECONDS = 0
    return github_settings


def start(owner: User) -> Run:
    version = save_template(
        yaml_text="apiVersion: scaffolder.backstage.io/v1beta3\nkind: Template\n"
        "metadata: {name: svc}\nspec:\n  type: service\n  steps:" + STEPS,
        actor=None,
    )
    return start_template_run(version=version, values={}, actor=owner)


def start_past_the_check(owner: User) -> Run:
    """The run as if the name was free when Create checked it (the wizard refuses a taken
    repository up front): what is left to test is the step's own guard."""
    steps = yaml.safe_load(STEPS)
    return start_run(
        kind="scaffolder", title="svc", actor=owner, owner_ref="group:default/team-orders",
        steps=[StepSpec(key=s["id"], kind=s["action"], inputs=s["input"]) for s in steps],
    )  # fmt: skip


def drive(run: Run) -> Run:
    """Execute the run's steps in this process, as a worker would (back-off skipped)."""
    for _ in range(20):
        advance_run(run.pk)
        run.refresh_from_db()
        if run.is_finished:
            return run
        step = run.steps.filter(status=StepStatus.PENDING).order_by("position").first()
        assert step is not None
        Step.objects.filter(pk=step.pk).update(not_before=None)
        execute_step(step.pk)
    raise AssertionError("run did not finish")


def creations(fake: Any) -> int:
    return sum(1 for r in fake.requests if r.method == "POST" and r.path == "/orgs/acme/repos")


@pytest.mark.django_db
def test_a_repository_left_unmarked_by_a_dead_worker_is_finished_by_the_retry(
    github_run_settings: Any, fake_github: Any, owner: User
) -> None:
    """The state a worker killed between the create call and the topics call leaves behind:
    the step's record noted the attempt, GitHub holds an unmarked repository."""
    run = start(owner)
    # What the engine's authorization and the first attempt wrote before the worker died.
    record = reserve(kind=REPOSITORY, key="acme/orders-api", owner_ref="group:default/team-orders",
                     run=run, step_key="publish")  # fmt: skip
    note_attempt(record)
    fake_github.add_foreign_repo("acme", "orders-api")  # created, never marked

    run = drive(run)
    assert run.status == RunStatus.SUCCEEDED, run.error
    state = fake_github.repos["acme/orders-api"]
    assert state["topics"] == ["paved-managed", "python"]
    assert "main" in state["protection"]
    assert b"orders-api" in fake_github.files("acme/orders-api")["catalog-info.yaml"]
    assert creations(fake_github) == 0  # the retry finished it; it did not create another
    assert run.steps.get(key="publish").attempt == 1


@pytest.mark.django_db
def test_a_repository_that_existed_before_the_run_is_never_adopted(
    github_run_settings: Any, fake_github: Any, owner: User
) -> None:
    fake_github.add_foreign_repo("acme", "orders-api")
    run = drive(start_past_the_check(owner))
    assert run.status == RunStatus.FAILED
    step = run.steps.get(key="publish")
    assert "acme/orders-api already exists and was not created by Paved" in step.error
    assert step.attempt == 1
    # Not recorded as this run's (it was there before): a retry refuses it too.
    record = record_for(REPOSITORY, "acme/orders-api")
    assert record is None or record.attempted_at is None
    assert fake_github.repos["acme/orders-api"]["topics"] == []
    assert "catalog-info.yaml" not in fake_github.files("acme/orders-api")


@pytest.mark.django_db
def test_a_name_taken_between_the_check_and_the_create_is_not_adopted_later(
    github_run_settings: Any, fake_github: Any, owner: User
) -> None:
    # The step's own look-up sees no repository; by the time GitHub is asked, someone has one.
    fake_github.add_foreign_repo("acme", "orders-api")
    fake_github.fail_on("GET", "/repos/acme/orders-api", 404, {"message": "Not Found"})
    run = drive(start_past_the_check(owner))
    assert run.status == RunStatus.FAILED
    record = record_for(REPOSITORY, "acme/orders-api")
    assert record is None or record.attempted_at is None
    assert fake_github.repos["acme/orders-api"]["topics"] == []


# --- with a real worker --------------------------------------------------------------------


@pytest.fixture
def worker_env(worker_env: dict[str, str], fake_github: Any) -> dict[str, str]:
    return {**worker_env, "PAVED_GIT_PROVIDER": "github", "PAVED_GITHUB_API_URL": fake_github.url,
            "PAVED_GITHUB_TOKEN": "ghp_test", "PAVED_GITHUB_ORG": "acme",
            "PAVED_GITHUB_THROTTLE": "false", "PAVED_SHARED_REPOSITORY_OWNERS": "acme",
            "PAVED_GITHUB_APP_ID": "", "PAVED_GITHUB_APP_PRIVATE_KEY": ""}  # fmt: skip


def finished(run: Run) -> Run | None:
    run.refresh_from_db()
    return run if run.is_finished else None


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_worker_retry_after_a_failed_topics_call_finishes_exactly_once(
    github_run_settings: Any, fake_github: Any, owner: User, celery_worker: WorkerProcess
) -> None:
    fake_github.fail_on("PUT", "/repos/acme/orders-api/topics", 502, {"message": "Server Error"})
    run = start(owner)
    wait_for(lambda: finished(run), timeout=60)
    assert run.status == RunStatus.SUCCEEDED, (run.error, celery_worker.logs())
    step = run.steps.get(key="publish")
    assert step.attempt == 2
    assert creations(fake_github) == 1
    assert fake_github.repos["acme/orders-api"]["topics"] == ["paved-managed", "python"]
    assert "main" in fake_github.repos["acme/orders-api"]["protection"]
    assert fake_github.commit_count("acme/orders-api") == 2  # GitHub's initial commit + ours
    assert run.warnings == []


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_worker_free_plan_protection_is_a_warning_on_the_run_and_the_scorecard(
    github_run_settings: Any,
    fake_github: Any,
    owner: User,
    celery_worker: WorkerProcess,
    client: Any,
) -> None:
    fake_github.plan = "free"
    run = start(owner)
    wait_for(lambda: finished(run), timeout=60)
    assert run.status == RunStatus.SUCCEEDED, (run.error, celery_worker.logs())
    assert fake_github.repos["acme/orders-api"]["protection"] == {}
    [warning] = run.warnings
    assert warning["step"] == run.steps.get(key="publish").name
    assert "branch main of acme/orders-api is NOT protected" in warning["message"]
    logged = run.log_lines.filter(level="WARNING").values_list("message", flat=True)
    assert any("NOT protected" in m for m in logged)
    client.force_login(owner)
    page = client.get(f"/runs/{run.pk}/").content.decode()
    assert 'data-testid="run-warnings"' in page
    assert "is NOT protected" in page

    # The component (as the catalog would ingest it) fails the scorecard check.
    document = yaml.safe_load(fake_github.files("acme/orders-api")["catalog-info.yaml"])
    component = Entity.objects.create(
        kind="Component", namespace="default", name="orders-api",
        ref="component:default/orders-api", metadata=document["metadata"],
        spec=document["spec"], owner_ref="group:default/team-orders",
    )  # fmt: skip
    rule = RULES["provisioned-without-warnings"]
    context = RuleContext(params={}, cache=BatchCache())
    assert rule.prepare is not None
    context.data = rule.prepare([component], context)
    passed, reason = rule.func(component, context)
    assert passed is False
    assert f"run #{run.pk} finished with 1 warning(s)" in reason
