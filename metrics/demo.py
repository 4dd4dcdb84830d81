"""Demo delivery history for `load_demo_data`: 90 days of deployments, commits and incidents for
the demo components, loaded through the normal ingest path (ids derive from the date, so a
second run on the same day loads nothing new)."""

from __future__ import annotations

import hashlib
import json
import random
from datetime import UTC, datetime, time, timedelta

from django.utils import timezone

from metrics.ingestion import ingest_generic
from metrics.rollups import refresh_rollups
from portal.demo import register_demo_loader

DEMO_COMPONENTS = {"orders-service": 1.5, "payments-service": 0.6}  # deployments per weekday
INCIDENT_TITLES = (
    "Elevated error rate after deploy",
    "Slow responses at peak",
    "Database connection errors",
    "Failed health checks in production",
)


def load_demo_metrics() -> str:
    rnd = random.Random(42)  # noqa: S311  (demo data, not security)
    today = timezone.now().date()
    lines = []
    for component, rate in DEMO_COMPONENTS.items():
        n = 0
        for back in range(90, 0, -1):
            day = today - timedelta(days=back)
            if day.weekday() >= 5:
                continue
            for _ in range(int(rate) + (1 if rnd.random() < rate % 1 else 0)):
                n += 1
                finished = datetime.combine(day, time(9), tzinfo=UTC) + timedelta(
                    minutes=rnd.randint(0, 480)
                )
                dep_id = f"demo-{component}-{day.isoformat()}-{n}"
                commits = [
                    {
                        "sha": hashlib.sha1(f"{component}:{n}:{c}".encode()).hexdigest(),  # noqa: S324
                        "committed_at": (
                            finished - timedelta(hours=rnd.uniform(0.5, 60))
                        ).isoformat(),
                    }
                    for c in range(rnd.randint(1, 4))
                ]
                hotfix = rnd.random() < 0.05
                lines.append(
                    {
                        "type": "deployment",
                        "id": dep_id,
                        "component": component,
                        "environment": "production",
                        "status": "failure" if rnd.random() < 0.04 else "success",
                        "started_at": (finished - timedelta(minutes=6)).isoformat(),
                        "finished_at": finished.isoformat(),
                        "commits": commits,
                        # The deployed head: the newest commit it shipped.
                        "commit": max(commits, key=lambda c: c["committed_at"])["sha"],
                        "hotfix": hotfix,
                    }
                )
                if rnd.random() < 0.06:
                    start = finished + timedelta(hours=rnd.uniform(0.2, 6))
                    lines.append(
                        {
                            "type": "incident",
                            "id": f"demo-inc-{dep_id}",
                            "title": INCIDENT_TITLES[n % len(INCIDENT_TITLES)],
                            "component": component,
                            "started_at": start.isoformat(),
                            "resolved_at": (
                                start + timedelta(hours=rnd.uniform(0.3, 8))
                            ).isoformat(),
                        }
                    )
    result = ingest_generic((str(i), json.dumps(e)) for i, e in enumerate(lines, 1))
    refresh_rollups()
    return f"{result.loaded} delivery events loaded, {result.duplicate} already there"


register_demo_loader("metrics", 90, load_demo_metrics)
