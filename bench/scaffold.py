"""Time from "Create" to a completed golden-path run, split by step, with the engine's overhead.

    python bench/scaffold.py [--runs 3] [--no-worker]

Runs the shipped "Python service (FastAPI)" template against the embedded providers (local git,
gitops) in a throw-away database and data directory:

1. in process: the engine's functions are called here, one step after the other, as a worker
   would; each action's own time is measured, so the engine's overhead per step (resolving
   expressions, claiming, bookkeeping, log lines, enqueueing) is exact;
2. on a real Celery worker (needs PostgreSQL and Redis, as `make bench` sets): wall clock from
   start_template_run to the finished run, per-step durations and the gap between steps
   (queueing + claiming), i.e. what a user sees after pressing "Create".

Targets: <= 5 s end to end, <= 100 ms engine overhead per step.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DATA_DIR = tempfile.mkdtemp(prefix="paved-bench-scaffold-")
os.environ["PAVED_DATA_DIR"] = DATA_DIR
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
for name, value in (
    ("PAVED_GIT_PROVIDER", "local"),
    ("PAVED_DEPLOY_PROVIDER", "gitops"),
    ("PAVED_CLUSTER_PROVIDER", "gitops"),
):
    os.environ[name] = value

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth.models import User  # noqa: E402
from django.db import connection  # noqa: E402

VALUES = {"owner": "group:default/team-orders", "environment": "dev"}


def _providers_available() -> list[str]:
    from portal.providers import cluster, deployer, git_host

    missing = []
    for label, accessor in (("git", git_host), ("deploy", deployer), ("cluster", cluster)):
        try:
            accessor()
        except Exception as exc:
            missing.append(f"{label}: {exc}")
    return missing


def _setup() -> tuple[Any, User]:
    from catalog.models import Entity
    from scaffolder.demo import load_builtin_templates
    from scaffolder.models import TemplateVersion

    load_builtin_templates()
    from catalog.models import Relation

    team, _ = Entity.objects.get_or_create(
        ref="group:default/team-orders", defaults={"kind": "Group", "name": "team-orders"}
    )
    user, _ = User.objects.get_or_create(username="bench", defaults={"email": "bench@example.com"})
    # The requester is in the owning team: steps act with the requester's authority.
    person, _ = Entity.objects.get_or_create(
        ref="user:default/bench", defaults={"kind": "User", "name": "bench", "user": user}
    )
    Relation.objects.get_or_create(
        source=person, type="memberOf", target_ref=team.ref, defaults={"target": team}
    )
    return TemplateVersion.objects.get(ref="template:default/python-service"), user


def _values(index: int, mode: str) -> dict[str, Any]:
    name = f"bench-{mode}-{index}-{int(time.time() * 1000) % 100000}"
    return {**VALUES, "name": name, "repoUrl": f"localhost?owner=team-orders&repo={name}"}


def run_in_process(version: Any, user: User, index: int) -> dict[str, Any]:
    from runs import runner
    from runs.models import Run, StepStatus
    from runs.registry import get_step_kind
    from scaffolder.services import start_template_run

    action_time: dict[str, float] = defaultdict(float)
    originals = {}
    run_obj = None

    def wrap(kind_cls: Any) -> None:
        original = kind_cls.run
        originals[kind_cls] = original

        def timed(self: Any, ctx: Any) -> Any:
            started = time.perf_counter()
            try:
                return original(self, ctx)
            finally:
                action_time[ctx.step.key] += time.perf_counter() - started

        kind_cls.run = timed

    started = time.perf_counter()
    run_obj = start_template_run(version=version, values=_values(index, "inproc"), actor=user)
    for step in run_obj.steps.all():
        kind_cls = get_step_kind(step.kind)
        if kind_cls not in originals:
            wrap(kind_cls)
    total_step: dict[str, float] = {}
    try:
        runner.advance_run(run_obj.pk)
        while True:
            run_obj.refresh_from_db()
            if run_obj.is_finished:
                break
            pending = run_obj.steps.filter(status=StepStatus.PENDING).order_by("position").first()
            if pending is None:
                break
            t0 = time.perf_counter()
            runner.execute_step(pending.pk)  # also advances the run (enqueue of the next step)
            total_step[pending.key] = time.perf_counter() - t0
    finally:
        for kind_cls, original in originals.items():
            kind_cls.run = original
    elapsed = time.perf_counter() - started
    run_obj = Run.objects.get(pk=run_obj.pk)
    return {
        "status": run_obj.status,
        "error": run_obj.error,
        "total": elapsed,
        "steps": {
            k: (action_time.get(k, 0.0), total_step[k] - action_time.get(k, 0.0))
            for k in total_step
        },
    }


def _worker_env(db_name: str) -> dict[str, str]:
    db = connection.settings_dict
    url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db_name}"
    return {
        **os.environ,
        "DATABASE_URL": url,
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "PAVED_DATA_DIR": DATA_DIR,
    }


def run_on_worker(version: Any, user: User, runs: int, db_name: str) -> list[dict[str, Any]]:
    from portal.celery import app
    from runs.models import Run
    from scaffolder.services import start_template_run

    app.control.purge()
    log = open(Path(DATA_DIR) / "worker.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "portal", "worker", "--pool=threads", "--concurrency=2",
         "-Q", "default,provisioning", "--without-gossip", "--without-mingle", "--loglevel=WARNING", "-n", "bench@%h"],
        cwd=ROOT, env=_worker_env(db_name), stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    results = []
    try:
        deadline = time.monotonic() + 30
        while not any(
            next(iter(r)).startswith("bench@") for r in (app.control.ping(timeout=0.5) or [])
        ):
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError(f"the worker did not start; see {log.name}")
        for index in range(runs):
            started = time.perf_counter()
            run = start_template_run(version=version, values=_values(index, "worker"), actor=user)
            while not Run.objects.get(pk=run.pk).is_finished:
                time.sleep(0.01)
            elapsed = time.perf_counter() - started
            run = Run.objects.get(pk=run.pk)
            previous = run.created_at
            steps = {}
            for step in run.steps.order_by("position"):
                gap = (step.started_at - previous).total_seconds() if step.started_at else 0.0
                steps[step.key] = ((step.duration or 0.0), gap)
                previous = step.finished_at or previous
            results.append(
                {"status": run.status, "error": run.error, "total": elapsed, "steps": steps}
            )
    finally:
        proc.terminate()
        proc.wait(15)
    return results


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0


def report(title: str, results: list[dict[str, Any]], labels: tuple[str, str]) -> None:
    print(f"\n{title} ({len(results)} run(s); medians)")
    failed = [r for r in results if r["status"] != "succeeded"]
    for r in failed:
        print(f"  FAILED run: {r['error']}")
    ok = [r for r in results if r["status"] == "succeeded"]
    if not ok:
        return
    print(
        f"  Create -> completed: {_median([r['total'] for r in ok]) * 1000:8.1f} ms  (target <= 5000 ms)"
    )
    print(f"  {'step':<12}{labels[0]:>14}{labels[1]:>22}")
    worst = 0.0
    for key in ok[0]["steps"]:
        a = _median([r["steps"][key][0] for r in ok]) * 1000
        b = _median([r["steps"][key][1] for r in ok]) * 1000
        worst = max(worst, b)
        print(f"  {key:<12}{a:>11.1f} ms{b:>19.1f} ms")
    print(f"  worst {labels[1]}: {worst:.1f} ms per step (target <= 100 ms)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-worker", action="store_true")
    args = parser.parse_args()
    missing = _providers_available()
    if missing:
        print(
            "Embedded providers are not available on this branch yet; cannot run the golden path:"
        )
        for line in missing:
            print(f"  {line}")
        return
    old_name = connection.settings_dict["NAME"]
    test_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        version, user = _setup()
        run_in_process(version, user, -1)  # warm-up: imports, template cache, first git repo
        report(
            "In process (engine functions called here)",
            [run_in_process(version, user, i) for i in range(args.runs)],
            ("action", "engine overhead"),
        )
        use_worker = not args.no_worker and settings.CELERY_BROKER_URL.startswith("redis")
        if use_worker:
            report(
                "Real Celery worker (threads pool)",
                run_on_worker(version, user, args.runs, test_name),
                ("step duration", "queue+claim gap"),
            )
        else:
            print("\n(worker run skipped: needs PostgreSQL and Redis, e.g. `make bench`)")
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
