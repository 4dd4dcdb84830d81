"""Scorecard rules (pass/fail/unknown), a raising rule, levels, history, incremental runs and
agreement with the golden-path adoption metric."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from catalog.models import Entity
from metrics import platform
from metrics.models import DailyRollup
from metrics.scorecards import rules
from metrics.scorecards.models import Check, Level, Scorecard, ScorecardResult, ScorecardSnapshot
from metrics.scorecards.services import dirty_components, evaluate, evaluate_dirty
from portal.providers import git_host
from tests.conftest import make_group
from tests.metrics.scorecard_helpers import ensure_default_scorecard

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _default_scorecard() -> None:
    ensure_default_scorecard()


DEFAULT = "Production readiness"


@pytest.fixture
def git_root(settings: Any, tmp_path: Path) -> Path:
    settings.PAVED_GIT_PROVIDER = "local"
    settings.PAVED_GIT_LOCAL_ROOT = tmp_path / "git"
    settings.PAVED_GITOPS_REPO = "platform/gitops"
    return tmp_path / "git"


def component(name: str, **kw: Any) -> Entity:
    annotations = kw.pop("annotations", {})
    return Entity.objects.create(
        kind="Component", name=name, metadata={"name": name, "annotations": annotations}, **kw
    )


def outcomes(name: str, card: str = DEFAULT) -> dict[str, dict[str, str]]:
    return ScorecardResult.objects.get(
        component__name=name, scorecard__name=card, current=True
    ).outcomes


def status(name: str, key: str) -> str:
    return outcomes(name)[key]["status"]


def test_owner_docs_oncall_errors_rules() -> None:
    team = make_group("team-orders")
    component("good", owner_ref=team.ref, description="Orders",
              annotations={"backstage.io/techdocs-ref": "dir:.", "opsgenie.com/team": "orders"})  # fmt: skip
    component("ghost-owner", owner_ref="group:default/nobody", processing_errors=["bad yaml"])
    component("no-owner")
    evaluate()
    assert status("good", "owner-exists") == "pass"
    assert status("ghost-owner", "owner-exists") == "fail"
    assert "nobody" in outcomes("ghost-owner")["owner-exists"]["reason"]
    assert status("no-owner", "owner-exists") == "fail"
    assert status("good", "description-and-docs") == "pass"
    assert "metadata.description" in outcomes("no-owner")["description-and-docs"]["reason"]
    assert status("good", "on-call") == "pass"
    assert status("no-owner", "on-call") == "fail"
    assert status("good", "no-processing-errors") == "pass"
    assert status("ghost-owner", "no-processing-errors") == "fail"
    assert "bad yaml" in outcomes("ghost-owner")["no-processing-errors"]["reason"]


def test_repository_rules_read_the_real_git_repository(git_root: Path) -> None:
    host = git_host()
    repo, _ = host.ensure_repository("acme", "full")
    host.commit_files(repo, {"docs/runbook.md": b"# Runbook", ".github/workflows/ci.yml": b"on: push"},
                      message="init")  # fmt: skip
    bare, _ = host.ensure_repository("acme", "bare")
    host.commit_files(bare, {"README.md": b"hi"}, message="init")
    component("full", annotations={"github.com/project-slug": "acme/full"})
    component("bare", annotations={"localhost/project-slug": "acme/bare"})
    component("missing", annotations={"github.com/project-slug": "acme/missing"})
    component("norepo")
    evaluate()
    assert status("full", "runbook") == status("full", "ci-workflow") == "pass"
    assert status("bare", "runbook") == status("bare", "ci-workflow") == "fail"
    assert "docs/runbook.md not found" in outcomes("bare")["runbook"]["reason"]
    assert status("missing", "runbook") == "fail"
    assert "not found" in outcomes("missing")["ci-workflow"]["reason"]
    assert status("norepo", "runbook") == status("norepo", "ci-workflow") == "unknown"
    assert "no repository annotation" in outcomes("norepo")["runbook"]["reason"]


def test_argocd_rule_annotation_or_gitops_application(git_root: Path) -> None:
    host = git_host()
    gitops, _ = host.ensure_repository("platform", "gitops")
    host.commit_files(
        gitops,
        {"environments/dev/argocd/application.argoproj.io/shop-dev.yaml": b"kind: Application"},
        message="app",
    )
    component("annotated", annotations={"argocd/app-name": "annotated-prod"})
    component("shop")
    component("manual")
    evaluate()
    assert status("annotated", "argocd") == "pass"
    assert status("shop", "argocd") == "pass"
    assert "shop-dev" in outcomes("shop")["argocd"]["reason"]
    assert status("manual", "argocd") == "fail"


def _rollup(name: str, days_ago: int, deployments: int, failed: int = 0) -> None:
    DailyRollup.objects.create(
        scope=f"component:{name}", environment="production",
        day=timezone.now().date() - timedelta(days=days_ago), deployments=deployments,
        failed=failed, lead_times=deployments, lead_time_hours_sum=2.0 * deployments,
        lt_b0=deployments,
    )  # fmt: skip


def test_dora_rule_bands() -> None:
    component("fast")
    component("flaky")
    component("idle")
    component("stale")
    for d in range(1, 21):
        _rollup("fast", d, 2)
        _rollup("flaky", d, 2, failed=1)  # 50 % change failure rate: low
    _rollup("stale", 45, 10)  # outside the 30-day window
    evaluate()
    assert status("fast", "dora-band") == "pass"
    assert status("flaky", "dora-band") == "fail"
    assert "change failure rate is low" in outcomes("flaky")["dora-band"]["reason"]
    assert status("idle", "dora-band") == "fail"
    assert status("stale", "dora-band") == "fail"


def test_golden_path_check_agrees_with_adoption_metric() -> None:
    component("scaffolded", annotations={"paved.dev/template": "template:default/python-service"})
    component("by-run")
    component("handmade")
    component("old", lifecycle="deprecated")
    from runs.models import Run, RunStatus

    Run.objects.create(kind="scaffolder", title="t", status=RunStatus.SUCCEEDED,
                       context={"component_ref": "component:default/by-run"})  # fmt: skip
    evaluate()
    assert status("scaffolded", "golden-path") == "pass"
    assert status("by-run", "golden-path") == "pass"
    assert status("handmade", "golden-path") == "fail"
    assert not ScorecardResult.objects.filter(component__name="old").exists()  # inactive
    passing = sum(
        1
        for r in ScorecardResult.objects.filter(current=True, scorecard__name=DEFAULT)
        if r.outcomes["golden-path"]["status"] == "pass"
    )
    adoption = platform.golden_path_adoption()
    assert adoption["on_golden_path"] == passing == 2
    assert adoption["components"] == ScorecardResult.objects.filter(current=True).count() == 3


def _card(*checks: tuple[str, str, str]) -> Scorecard:
    card = Scorecard.objects.create(name="Test card")
    levels = {n: Level.objects.create(scorecard=card, name=n, rank=i)
              for i, n in enumerate(["Bronze", "Silver", "Gold"], 1)}  # fmt: skip
    for level, key, rule in checks:
        Check.objects.create(scorecard=card, level=levels[level], key=key, title=key, rule=rule)
    return card


def test_a_raising_rule_is_unknown_for_that_component_and_the_rest_still_run() -> None:
    def explode(component: Entity, context: rules.RuleContext) -> tuple[bool | None, str]:
        if component.name == "boom":
            raise RuntimeError("cannot read the thing")
        return True, "fine"

    def broken_prepare(components: Any, context: rules.RuleContext) -> Any:
        raise ConnectionError("data source down")

    rules.register_rule("test-explode", "explodes")(explode)
    rules.register_rule("test-broken-prepare", "broken", prepare=broken_prepare)(explode)
    try:
        Scorecard.objects.filter(name=DEFAULT).update(active=False)
        _card(("Bronze", "explode", "test-explode"), ("Bronze", "docs", "description-and-docs"),
              ("Silver", "broken", "test-broken-prepare"))  # fmt: skip
        component("boom", description="x", annotations={"backstage.io/techdocs-ref": "dir:."})
        component("calm")
        evaluate()
    finally:
        rules.RULES.pop("test-explode")
        rules.RULES.pop("test-broken-prepare")
    boom = outcomes("boom", "Test card")
    assert boom["explode"] == {"status": "unknown", "reason": "RuntimeError: cannot read the thing"}
    assert boom["docs"]["status"] == "pass"  # the other checks still ran
    assert outcomes("calm", "Test card")["explode"]["status"] == "pass"
    assert boom["broken"] == {"status": "unknown", "reason": "ConnectionError: data source down"}
    assert outcomes("calm", "Test card")["docs"]["status"] == "fail"


def test_levels_are_cumulative() -> None:
    Scorecard.objects.filter(name=DEFAULT).update(active=False)
    _card(("Bronze", "docs", "description-and-docs"), ("Silver", "oncall", "on-call"),
          ("Gold", "errors", "no-processing-errors"))  # fmt: skip
    docs = {"backstage.io/techdocs-ref": "dir:."}
    component("gold", description="d", annotations={**docs, "paved.dev/on-call": "x"})
    component("bronze", description="d", annotations=docs, processing_errors=["e"])
    component("skips-silver", description="", annotations={"paved.dev/on-call": "x"})
    evaluate()
    levels = dict(
        ScorecardResult.objects.filter(current=True).values_list("component__name", "level_name")
    )
    assert levels == {"gold": "Gold", "bronze": "Bronze", "skips-silver": ""}


def test_history_current_flag_incremental_and_snapshot() -> None:
    c = component("svc", description="d")
    first = evaluate()
    assert len(first) == 1
    assert list(dirty_components(Scorecard.objects.get(name=DEFAULT))) == []
    assert evaluate_dirty() == 0  # nothing changed
    Entity.objects.filter(pk=c.pk).update(
        metadata={"annotations": {"paved.dev/on-call": "x"}}, updated_at=timezone.now()
    )
    assert evaluate_dirty() == 1  # the changed component only
    results = ScorecardResult.objects.filter(component=c).order_by("evaluated_at")
    assert [r.current for r in results] == [False, True]
    assert results[0].outcomes["on-call"]["status"] == "fail"
    assert results[1].outcomes["on-call"]["status"] == "pass"
    assert ScorecardSnapshot.objects.filter(owner_ref="").count() == 1
    # a changed definition makes everything dirty again
    Check.objects.filter(key="on-call").first().save()
    assert evaluate_dirty() == 1


def test_stale_results_are_re_evaluated_and_old_history_pruned() -> None:
    c = component("svc")
    evaluate(now=timezone.now() - timedelta(days=500))
    evaluate(now=timezone.now() - timedelta(days=2))
    assert ScorecardResult.objects.filter(component=c).count() == 2
    assert evaluate_dirty() == 1
    # the 500-day-old superseded result is gone; the 2-day-old one is kept as history
    ages = sorted(
        (timezone.now() - r.evaluated_at).days for r in ScorecardResult.objects.filter(component=c)
    )
    assert ages == [0, 2]
