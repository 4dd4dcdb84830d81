"""Benchmark: ingest deployments and commits, then time the dashboard pages.

    DATABASE_URL=postgres://... .venv/bin/python bench/metrics.py --scale 0.05 --reset

Full scale (--scale 1) is 1,000,000 deployment events and 5,000,000 commits across 1,000
components over the last 365 days, plus one incident per 100 deployments. Events go through the
real ingest path (raw rows + normalized rows + commit links, bulk inserts in batches of 5,000),
then the incremental rollup refresh runs, then the organisation dashboard and one component
page are requested through Django's test client (server time including template rendering).

--reset TRUNCATEs the metrics tables of the configured database: never point it at production.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
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
from metrics.events import CommitIn, DeploymentIn, IncidentIn  # noqa: E402
from metrics.rollups import refresh_rollups  # noqa: E402
from metrics.services import Incoming, ingest  # noqa: E402

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


def events(n_deploy: int, names: list[str], commits_per: int, seed: int = 7) -> list[Incoming]:
    rnd = random.Random(seed)
    end = datetime.now(UTC).replace(microsecond=0)
    start = end - timedelta(days=365)
    step = (end - start) / n_deploy
    out: list[Incoming] = []
    sha = 0
    for i in range(n_deploy):
        finished = start + step * i
        comp = names[rnd.randrange(len(names))]
        commits = []
        for _ in range(commits_per):
            sha += 1
            commits.append(
                CommitIn(
                    sha=f"{sha:040x}", committed_at=finished - timedelta(hours=rnd.uniform(0.2, 96))
                )
            )
        roll = rnd.random()
        ev = DeploymentIn(
            id=f"bench-{i}",
            component=comp,
            environment="production",
            status="failure" if roll < 0.05 else "success",
            started_at=finished - timedelta(minutes=5),
            finished_at=finished,
            commit=commits[-1].sha,
            commits=commits,
            rollback=0.05 <= roll < 0.06,
            hotfix=0.06 <= roll < 0.07,
        )
        out.append(
            Incoming(
                source="api", delivery_id=f"deployment:{ev.id}", event=ev, payload={"id": ev.id}
            )
        )
        if i % 100 == 50:
            inc = IncidentIn(
                id=f"bench-inc-{i}",
                component=comp,
                started_at=finished + timedelta(seconds=1),
                resolved_at=finished + timedelta(hours=rnd.uniform(0.1, 30)),
                deployment="",
            )
            out.append(
                Incoming(
                    source="api",
                    delivery_id=f"incident:{inc.id}",
                    event=inc,
                    payload={"id": inc.id},
                )
            )
    return out


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
    parser.add_argument("--scale", type=float, default=1.0, help="1.0 = 1M deployments, 5M commits")
    parser.add_argument("--components", type=int, default=1000)
    parser.add_argument("--teams", type=int, default=100)
    parser.add_argument("--batch", type=int, default=5000)
    parser.add_argument("--reset", action="store_true", help="TRUNCATE the metrics tables first")
    parser.add_argument("--skip-load", action="store_true", help="only time the pages")
    args = parser.parse_args()

    if connection.vendor != "postgresql":
        sys.exit("bench/metrics.py needs PostgreSQL (set DATABASE_URL)")
    n_deploy = int(1_000_000 * args.scale)
    names = [f"bench-{i:04d}" for i in range(args.components)]
    if not args.skip_load:
        if args.reset:
            reset()
        names = ensure_components(args.components, args.teams)
        t = time.perf_counter()
        items = events(n_deploy, names, 5)
        gen = time.perf_counter() - t
        n_events = len(items)
        n_commits = n_deploy * 5
        print(
            f"generated {n_deploy:,} deployments, {n_commits:,} commits, {n_events - n_deploy:,} incidents in {gen:.1f}s"
        )
        t = time.perf_counter()
        for i in range(0, n_events, args.batch):
            ingest(items[i : i + args.batch])
        ingest_s = time.perf_counter() - t
        print(
            f"ingest: {n_events:,} events in {ingest_s:.1f}s = {n_events / ingest_s:,.0f} events/s "
            f"({(n_events + n_commits) / ingest_s:,.0f} rows/s counting commits)"
        )
        t = time.perf_counter()
        days = refresh_rollups()
        roll_s = time.perf_counter() - t
        print(f"rollups: {days:,} component-days in {roll_s:.1f}s")
        print(f"ingest + rollups: {n_events / (ingest_s + roll_s):,.0f} events/s")

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


if __name__ == "__main__":
    main()
