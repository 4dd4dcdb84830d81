"""Benchmark: import deployments and commits from a JSON-lines file, then time the dashboards.

    DATABASE_URL=postgres://... .venv/bin/python bench/metrics.py --scale 1 --reset

Full scale (--scale 1, the documented run) is 1,000,000 deployment events listing 5,000,000
commits across 1,000 components over the last 365 days, plus one incident per 100 deployments.
The default (--scale 0.02: 20,000 deployments, 100,000 commits) keeps `make bench` short.

The events are first written to a .jsonl file in the generic shape (not timed), then loaded
through the same path as `manage.py metrics import-events` (parse and validate in a thread,
batches of 5,000, COPY), then the incremental rollup refresh runs, then the organisation
dashboard, a team page and one component page are requested through Django's test client
(server time including template rendering).

--reset TRUNCATEs the metrics tables of the configured database: never point it at production.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

import django

django.setup()

from django.contrib.auth.models import User  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402

from catalog.models import Entity  # noqa: E402
from metrics.imports import file_lines, import_file  # noqa: E402
from metrics.ingestion import ingest_generic  # noqa: E402
from metrics.rollups import refresh_rollups  # noqa: E402

TABLES = [
    "metrics_deploymentcommit",
    "metrics_change",
    "metrics_incident",
    "metrics_deployment",
    "metrics_rawevent",
    "metrics_dailyrollup",
    "metrics_dirtyday",
]


def reset() -> None:
    with connection.cursor() as cur:
        cur.execute(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE")
    Entity.objects.filter(kind="Component", name__startswith="bench-").delete()


def ensure_components(n: int, teams: int) -> list[str]:
    names = [f"bench-{i:04d}" for i in range(n)]
    existing = set(Entity.objects.filter(name__in=names).values_list("name", flat=True))
    Entity.objects.bulk_create(
        [
            Entity(
                kind="Component",
                name=name,
                ref=f"component:default/{name}",
                owner_ref=f"group:default/bench-team-{i % teams:03d}",
                metadata={"annotations": {"github.com/project-slug": f"bench/{name}"}},
            )
            for i, name in enumerate(names)
            if name not in existing
        ]
    )
    return names


def event_lines(n_deploy: int, names: list[str], commits_per: int, seed: int = 7) -> Iterator[str]:
    """Deployments in time order (5% failed, 1% rollbacks, 1% hotfixes), each listing its
    commits, and an incident one second after every 100th deployment."""
    rnd = random.Random(seed)
    end = datetime.now(UTC).replace(microsecond=0)
    start = end - timedelta(days=365)
    step = (end - start) / n_deploy
    sha = 0
    for i in range(n_deploy):
        finished = start + step * i
        comp = names[rnd.randrange(len(names))]
        commits = []
        for _ in range(commits_per):
            sha += 1
            at = finished - timedelta(hours=rnd.uniform(0.2, 96))
            commits.append({"sha": f"{sha:040x}", "committed_at": at.isoformat()})
        roll = rnd.random()
        yield json.dumps(
            {
                "type": "deployment",
                "id": f"bench-{i}",
                "component": comp,
                "environment": "production",
                "status": "failure" if roll < 0.05 else "success",
                "started_at": (finished - timedelta(minutes=5)).isoformat(),
                "finished_at": finished.isoformat(),
                "commit": commits[-1]["sha"],
                "commits": commits,
                "rollback": 0.05 <= roll < 0.06,
                "hotfix": 0.06 <= roll < 0.07,
            }
        )
        if i % 100 == 50:
            yield json.dumps(
                {
                    "type": "incident",
                    "id": f"bench-inc-{i}",
                    "component": comp,
                    "started_at": (finished + timedelta(seconds=1)).isoformat(),
                    "resolved_at": (finished + timedelta(hours=rnd.uniform(0.1, 30))).isoformat(),
                }
            )


def time_get(client: Client, url: str, repeat: int = 5) -> tuple[float, float]:
    client.get(url)  # warm caches and imports
    samples = []
    for _ in range(repeat):
        t = time.perf_counter()
        response = client.get(url)
        samples.append((time.perf_counter() - t) * 1000)
        if response.status_code != 200:
            sys.exit(f"{url} answered {response.status_code}")
    return statistics.median(samples), max(samples)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--scale",
        type=float,
        default=0.02,
        help="1 = 1M deployments and 5M commits (the documented run); default 0.02",
    )
    parser.add_argument("--components", type=int, default=1000)
    parser.add_argument("--teams", type=int, default=100)
    parser.add_argument("--commits", type=int, default=5, help="commits per deployment")
    parser.add_argument("--batch", type=int, default=5000)
    parser.add_argument(
        "--jobs",
        type=int,
        default=min(os.cpu_count() or 1, 4),
        help="import processes, as `import-events --jobs` (default: one per core, at most 4)",
    )
    parser.add_argument("--file", help="keep the generated .jsonl here (reused when it exists)")
    parser.add_argument("--reset", action="store_true", help="TRUNCATE the metrics tables first")
    parser.add_argument("--skip-load", action="store_true", help="only time the pages")
    args = parser.parse_args()

    n_deploy = int(1_000_000 * args.scale)
    names = [f"bench-{i:04d}" for i in range(args.components)]
    if not args.skip_load:
        if args.reset:
            reset()
        names = ensure_components(args.components, args.teams)
        path = Path(args.file) if args.file else None
        tmp = None
        if path is None:
            tmp = tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False)  # noqa: SIM115
            tmp.close()
            path = Path(tmp.name)
        try:
            if tmp is not None or not path.exists():
                t = time.perf_counter()
                with path.open("w") as fh:
                    for line in event_lines(n_deploy, names, args.commits):
                        fh.write(line + "\n")
                print(
                    f"wrote {path} ({path.stat().st_size / 1e6:,.0f} MB) in {time.perf_counter() - t:.0f}s"
                )
            load(path, args.batch, args.jobs)
        finally:
            if tmp is not None:
                path.unlink(missing_ok=True)

    setup_test_environment()
    user, _ = User.objects.get_or_create(username="bench-viewer", defaults={"is_staff": True})
    client = Client()
    client.force_login(user)
    for label, url in (
        ("org dashboard (365 days)", "/metrics/?window=365"),
        ("org dashboard (90 days)", "/metrics/?window=90"),
        ("team page", "/metrics/teams/bench-team-001/?window=90"),
        ("component page", f"/metrics/components/{names[1]}/?window=90"),
    ):
        med, worst = time_get(client, url)
        print(f"{label}: median {med:.0f} ms, max {worst:.0f} ms")


def load(path: Path, batch: int, jobs: int) -> None:
    """What `manage.py metrics import-events` does, timed in two parts."""

    t = time.perf_counter()
    if jobs > 1:
        result = import_file(path, jobs=jobs)
    else:
        result = ingest_generic(file_lines(path), batch_size=batch, background=True)
    ingest_s = time.perf_counter() - t
    n = result.loaded + result.duplicate + len(result.invalid)
    commits = _count("metrics_deploymentcommit")
    print(
        f"ingest: {n:,} events ({result.loaded:,} loaded, {result.duplicate:,} duplicate, "
        f"{len(result.invalid):,} invalid) in {ingest_s:.1f}s = {n / ingest_s:,.0f} events/s ({jobs} process(es))"
    )
    t = time.perf_counter()
    days = refresh_rollups()
    roll_s = time.perf_counter() - t
    print(f"rollups: {days:,} component-days in {roll_s:.1f}s")
    print(
        f"ingest + rollups: {n / (ingest_s + roll_s):,.0f} events/s; "
        f"tables now hold {_count('metrics_deployment'):,} deployments, "
        f"{_count('metrics_change'):,} commits, {commits:,} commit links"
    )


def _count(table: str) -> int:
    with connection.cursor() as cur:
        cur.execute(f"SELECT count(*) FROM {table}")  # noqa: S608 (constant table names)
        return int(cur.fetchone()[0])


if __name__ == "__main__":
    main()
