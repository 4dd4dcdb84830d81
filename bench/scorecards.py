"""Benchmark: evaluate the default "Production readiness" scorecard over 10,000 components.

    DATABASE_URL=postgres://... .venv/bin/python bench/scorecards.py [--components 10000]

Creates bench components (names "bench-sc-*", owned by 50 teams, varied annotations, some with
processing errors, every one with a repository annotation; 200 of those repositories exist in a
temporary local git root with a runbook and CI workflow) plus 30 days of production rollups for
a third of them, then times services.evaluate() (all rules, results and snapshot stored).
Bench rows are deleted first and at the end: never point it at production.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.utils import timezone  # noqa: E402

from catalog.models import Entity, make_ref  # noqa: E402
from metrics.models import DailyRollup  # noqa: E402
from metrics.scorecards.models import Outcome, Scorecard, ScorecardResult  # noqa: E402
from metrics.scorecards.services import evaluate  # noqa: E402
from portal.providers import git_host  # noqa: E402

PREFIX = "bench-sc-"


def cleanup() -> None:
    DailyRollup.objects.filter(scope__startswith=f"component:{PREFIX}").delete()
    Entity.objects.filter(name__startswith=PREFIX).delete()  # results cascade


def seed(n: int, real_repos: int) -> None:
    now = timezone.now()
    teams = [
        Entity(kind="Group", name=f"{PREFIX}team-{t}", ref=make_ref("Group", "default", f"{PREFIX}team-{t}"))
        for t in range(50)
    ]  # fmt: skip
    Entity.objects.bulk_create(teams)
    host = git_host()
    for r in range(real_repos):
        repo, _ = host.ensure_repository("bench", f"svc-{r}")
        host.commit_files(
            repo,
            {"docs/runbook.md": b"# Runbook", ".github/workflows/ci.yml": b"on: push"},
            message="bench",
        )
    rows = []
    for i in range(n):
        name = f"{PREFIX}{i:05d}"
        annotations = {"github.com/project-slug": f"bench/svc-{i}"}
        if i % 2:
            annotations["backstage.io/techdocs-ref"] = "dir:."
        if i % 3 == 0:
            annotations["pagerduty.com/service-id"] = f"P{i}"
        if i % 4 == 0:
            annotations["argocd/app-name"] = f"{name}-prod"
        if i % 5 == 0:
            annotations["paved.dev/template"] = "template:default/python-service"
        rows.append(
            Entity(
                kind="Component", name=name, ref=make_ref("Component", "default", name),
                description="bench" if i % 7 else "", spec_type="service", lifecycle="production",
                owner_ref=make_ref("Group", "default", f"{PREFIX}team-{i % 60}"),
                metadata={"name": name, "annotations": annotations},
                processing_errors=["bench error"] if i % 97 == 0 else [],
                created_at=now, updated_at=now,
            )
        )  # fmt: skip
    Entity.objects.bulk_create(rows, batch_size=2000)
    today = now.date()
    rollups = [
        DailyRollup(
            scope=f"component:{PREFIX}{i:05d}", environment="production",
            day=today - timedelta(days=d), deployments=1 + (i % 3), failed=1 if i % 10 == 0 else 0,
            lead_times=1, lead_time_hours_sum=5.0, lt_b0=1,
        )
        for i in range(0, n, 3)
        for d in range(1, 31, 2)
    ]  # fmt: skip
    DailyRollup.objects.bulk_create(rollups, batch_size=5000)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--components", type=int, default=10_000)
    parser.add_argument("--real-repos", type=int, default=200)
    parser.add_argument("--keep", action="store_true", help="leave the bench rows in place")
    args = parser.parse_args()
    card = Scorecard.objects.get(name="Production readiness", active=True)
    with tempfile.TemporaryDirectory() as root:
        settings.PAVED_GIT_PROVIDER = "local"
        settings.PAVED_GIT_LOCAL_ROOT = Path(root)
        cleanup()
        t0 = time.monotonic()
        seed(args.components, args.real_repos)
        print(f"seeded {args.components} components in {time.monotonic() - t0:.1f} s")
        bench = Entity.objects.filter(kind="Component", name__startswith=PREFIX)
        t0 = time.monotonic()
        results = evaluate(components=bench, scorecards=[card])
        elapsed = time.monotonic() - t0
        print(f"evaluated {len(results)} components x {card.checks.count()} checks "
              f"in {elapsed:.1f} s ({len(results) / elapsed:.0f} components/s)")  # fmt: skip
        levels: dict[str, int] = {}
        unknown = 0
        for r in results:
            levels[r.result.level_name or "none"] = levels.get(r.result.level_name or "none", 0) + 1
            unknown += sum(1 for o in r.result.outcomes.values() if o["status"] == Outcome.UNKNOWN)
        print(f"levels: {dict(sorted(levels.items()))}; unknown outcomes: {unknown}")
        stored = ScorecardResult.objects.filter(component__in=bench, current=True).count()
        print(f"current results stored: {stored}")
        if not args.keep:
            cleanup()


if __name__ == "__main__":
    main()
