"""Roll out a template upgrade to many services on the local git host: time per service and
total.

    python bench/upgrades.py [--services 200]

In a throw-away database and data directory: a copy of the shipped "Python service" template
is version A; N services are made from it (rendered with their own values, pushed to their own
bare repository, provenance recorded) and each team edits its README. The copy then changes
(a new base image in the Dockerfile, a new file) and becomes version B. A platform admin rolls
B out: one upgrade run per service, each executed here as a worker would (render A and B,
three-way merge with git, push the upgrade branch, open the pull request). Printed: setup
time, and per service the median / 95th percentile / max of the upgrade run, the total, and
the time of one pass of the beat job that reads every open upgrade PR's state.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DATA_DIR = tempfile.mkdtemp(prefix="paved-bench-upgrades-")
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

from django.contrib.auth.models import User  # noqa: E402
from django.db import connection  # noqa: E402

TEMPLATE_DIR = ROOT / "scaffolder" / "templates_builtin" / "python-service"


def _template_copy() -> Path:
    folder = Path(DATA_DIR) / "template" / "python-service"
    shutil.copytree(TEMPLATE_DIR, folder)
    return folder


def _make_services(version: Any, count: int) -> None:
    """N services at version A, each with a change of its own team."""
    from portal.providers import git_host
    from scaffolder.models import ServiceProvenance
    from scaffolder.upgrades.provenance import _save
    from scaffolder.upgrades.render import render_version

    host = git_host()
    for index in range(count):
        name = f"svc-{index:03d}"
        values = {"name": name, "owner": "group:default/team-orders", "environment": "dev",
                  "repoUrl": f"localhost?owner=team-orders&repo={name}", "description": "d",
                  "lifecycle": "experimental", "port": 8000, "canary": True, "onCall": "team"}  # fmt: skip
        probe = ServiceProvenance(values=values, render_context={"task_id": index})
        files = render_version(version, probe)
        repo, _ = host.ensure_repository("team-orders", name, default_branch="main")
        host.commit_files(repo, files, message="scaffold", branch="main")
        files["README.md"] = files["README.md"] + b"\nOur team's own notes.\n"
        host.commit_files(repo, {"README.md": files["README.md"]}, message="team", branch="main")
        _save(repository=repo.full_name, version=version, actor=None, git_host=host.name,
              values=values, step_outputs={}, render_context={"task_id": index},
              entity_ref="", owner_ref="group:default/team-orders")  # fmt: skip


def _version_b(folder: Path) -> Any:
    from scaffolder.services import save_template_file

    dockerfile = folder / "skeleton" / "Dockerfile"
    text = dockerfile.read_text()
    dockerfile.write_text(text.replace("FROM ", "FROM --platform=linux/amd64 ", 1))
    (folder / "skeleton" / "SECURITY.md").write_text("Report vulnerabilities to the platform.\n")
    return save_template_file(folder / "template.yaml")


def _drive(run_pk: int) -> str:
    from runs.models import Run, StepStatus
    from runs.runner import advance_run, execute_step

    for _ in range(10):
        advance_run(run_pk)
        run = Run.objects.get(pk=run_pk)
        if run.is_finished:
            return str(run.status)
        step = run.steps.filter(status=StepStatus.PENDING).order_by("position").first()
        if step is not None:
            execute_step(step.pk)
    return "unfinished"


def _roll(version: Any, admin: Any) -> tuple[list[Any], float, list[float], int]:
    """Roll `version` out and run every upgrade run: (upgrades, start time, durations, failed)."""
    from scaffolder.upgrades.services import roll_out

    started = time.perf_counter()
    upgrades = roll_out(to_version=version, actor=admin)
    start_all = time.perf_counter() - started
    durations: list[float] = []
    failed = 0
    for upgrade in upgrades:
        begin = time.perf_counter()
        if _drive(int(upgrade.run_pk or 0)) != "succeeded":
            failed += 1
        durations.append(time.perf_counter() - begin)
    return upgrades, start_all, durations, failed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, default=200)
    args = parser.parse_args()
    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        from scaffolder.models import TemplateUpgrade
        from scaffolder.services import save_template_file

        admin = User.objects.create(username="bench-admin", is_staff=True)
        folder = _template_copy()
        version_a = save_template_file(folder / "template.yaml")
        started = time.perf_counter()
        _make_services(version_a, args.services)
        setup = time.perf_counter() - started
        version_b = _version_b(folder)
        upgrades, start_all, durations, failed = _roll(version_b, admin)
        total = start_all + sum(durations)
        from scaffolder.upgrades.services import refresh_pull_request_states

        started = time.perf_counter()
        seen = refresh_pull_request_states()
        refresh = time.perf_counter() - started
        states = dict.fromkeys(TemplateUpgrade.objects.values_list("state", flat=True), 0)
        for state in TemplateUpgrade.objects.values_list("state", flat=True):
            states[state] += 1
        durations.sort()
        p95 = durations[max(0, int(len(durations) * 0.95) - 1)] if durations else 0.0
        print(f"Rolled out python-service v{version_a.version} -> v{version_b.version} "
              f"to {len(upgrades)} services on the local git host")  # fmt: skip
        print(f"  setup (render + push {args.services} services): {setup:8.1f} s")
        print(f"  start {len(upgrades)} upgrade runs (one transaction each): {start_all:8.2f} s")
        if durations:
            print(f"  per service: median {statistics.median(durations) * 1000:7.0f} ms, "
                  f"p95 {p95 * 1000:7.0f} ms, max {durations[-1] * 1000:7.0f} ms")  # fmt: skip
        print(f"  total: {total:8.1f} s   states: {states}   failed runs: {failed}")
        print(f"  read every open upgrade PR's state (the beat job): {refresh:8.2f} s {seen}")
        # A newer version while the PRs are open: same branches, PRs rewritten (title, body).
        (folder / "skeleton" / "SECURITY.md").write_text("Report vulnerabilities to security@.\n")
        again, _start, redo, refailed = _roll(save_template_file(folder / "template.yaml"), admin)
        redo.sort()
        print(f"  v3 while open, {len(again)} PRs updated: median "
              f"{statistics.median(redo) * 1000:7.0f} ms, max {redo[-1] * 1000:7.0f} ms, "
              f"total {sum(redo):6.1f} s, failed runs: {refailed}")  # fmt: skip
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
        shutil.rmtree(DATA_DIR, ignore_errors=True)


if __name__ == "__main__":
    main()
