"""DORA calculations: pure functions over querysets (no writes, no caching).

Semantics (see docs/metrics.md):
- window: `since`..`until` UTC dates, both included; a deployment is in the window when it
  finished in it.
- deployments: successful deployments in the environment; frequency = deployments / days.
- lead time: per commit, its FIRST successful deployment to the environment ever; counted when
  that deployment finished in the window; hours from commit to that finish (negative spans are
  dropped); median and p90 (linear interpolation, like percentile_cont).
- change failure rate: deployments with an attributed incident (explicit, else the component's
  last successful production deployment before the incident started; unresolved incidents count)
  or undone by a later rollback/hotfix of the same component, divided by deployments.
- recovery time: incidents that started in the window and are resolved; median hours.
- rework rate: rollback or hotfix deployments divided by deployments.
"""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db.models import Exists, Min, OuterRef, Q, QuerySet

from metrics.models import Deployment, DeploymentCommit, DeploymentStatus, Incident

BENCHMARK_DIR = Path(__file__).resolve().parent / "benchmarks"
DEFAULT_BENCHMARK_YEAR = 2023


@dataclass(frozen=True)
class Window:
    since: date
    until: date

    def __post_init__(self) -> None:
        if self.until < self.since:
            raise ValueError("--until must not be before --since")

    @property
    def start(self) -> datetime:
        return datetime.combine(self.since, time.min, tzinfo=UTC)

    @property
    def end(self) -> datetime:
        """Exclusive end: midnight after `until`."""
        return datetime.combine(self.until + timedelta(days=1), time.min, tzinfo=UTC)

    @property
    def days(self) -> int:
        return (self.until - self.since).days + 1


@dataclass(frozen=True)
class Scope:
    """Which components: everything (org), one component (by name) or one team."""

    kind: str = "org"  # org | component | team
    value: str = ""

    def q(self, prefix: str = "") -> Q:
        if self.kind == "component":
            return Q(**{f"{prefix}component_key": self.value.lower()})
        if self.kind == "team":
            return Q(**{f"{prefix}component__owner_ref__in": team_refs(self.value)})
        return Q()

    @property
    def label(self) -> str:
        return "Organisation" if self.kind == "org" else f"{self.kind.title()} {self.value}"


def team_refs(name: str) -> list[str]:
    """Owner refs that denote a team given as `team-x`, `group:team-x` or `group:default/team-x`."""
    name = name.strip().lower()
    if name.startswith("group:"):
        name = name.removeprefix("group:")
    if "/" in name:
        return [f"group:{name}"]
    return [f"group:default/{name}", f"group:{name}"]


def successful_deployments(scope: Scope, window: Window, environment: str) -> QuerySet[Deployment]:
    return Deployment.objects.filter(
        scope.q(),
        environment=environment,
        status=DeploymentStatus.SUCCESS,
        finished_at__gte=window.start,
        finished_at__lt=window.end,
    )


def deployment_frequency(deployments: QuerySet[Deployment], window: Window) -> dict[str, Any]:
    finished = list(deployments.values_list("finished_at", flat=True))
    days = {f.astimezone(UTC).date() for f in finished}
    return {
        "deployments": len(finished),
        "deployment_days": len(days),
        "deployment_frequency_per_day": len(finished) / window.days,
        "deployment_frequency_per_week": len(finished) * 7 / window.days,
    }


def lead_time_hours(scope: Scope, window: Window, environment: str) -> list[float]:
    """Hours from commit to its first successful deployment, for first deployments in window."""
    rows = (
        DeploymentCommit.objects.filter(
            scope.q("deployment__"),
            deployment__environment=environment,
            deployment__status=DeploymentStatus.SUCCESS,
        )
        .values("change_id", "change__committed_at")
        .annotate(first=Min("deployment__finished_at"))
        .filter(first__gte=window.start, first__lt=window.end)
    )
    hours = [
        (r["first"] - r["change__committed_at"]).total_seconds() / 3600
        for r in rows
        if r["first"] is not None
    ]
    return sorted(h for h in hours if h >= 0)


def failed_deployments(deployments: QuerySet[Deployment]) -> QuerySet[Deployment]:
    caused = Incident.objects.filter(attributed_deployment=OuterRef("pk"))
    return deployments.filter(Q(undone_by__isnull=False) | Exists(caused))


def recovery_hours(scope: Scope, window: Window) -> list[float]:
    rows = Incident.objects.filter(
        scope.q(),
        started_at__gte=window.start,
        started_at__lt=window.end,
        resolved_at__isnull=False,
    ).values_list("started_at", "resolved_at")
    return sorted(
        (r - s).total_seconds() / 3600 for s, r in rows if s is not None and r is not None
    )


def percentile(values: list[float], fraction: float) -> float | None:
    """Linear interpolation between closest ranks (PostgreSQL percentile_cont)."""
    if not values:
        return None
    ordered = sorted(values)
    pos = fraction * (len(ordered) - 1)
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


@cache
def benchmark(year: int | None = None) -> dict[str, Any]:
    year = year or getattr(settings, "PAVED_DORA_BENCHMARK_YEAR", DEFAULT_BENCHMARK_YEAR)
    path = BENCHMARK_DIR / f"dora-{year}.json"
    if not path.is_file():
        raise ValueError(f"no DORA benchmark table for {year}; have {available_benchmarks()}")
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def available_benchmarks() -> list[int]:
    return sorted(int(p.stem.split("-")[1]) for p in BENCHMARK_DIR.glob("dora-*.json"))


def band(metric: str, value: float | None, year: int | None = None) -> str | None:
    """The performance band of a value, from the benchmark table kept as data."""
    if value is None:
        return None
    spec = benchmark(year)["metrics"][metric]
    compare = spec["compare"]
    for name, threshold in spec["bands"]:
        if threshold is None:
            return str(name)
        if (
            (compare == "ge" and value >= threshold)
            or (compare == "lt" and value < threshold)
            or (compare == "le" and value <= threshold)
        ):
            return str(name)
    return None


def _round(value: float | None, digits: int = 9) -> float | None:
    """Drop floating-point noise (45.599999999999994 -> 45.6) but keep full useful precision."""
    return None if value is None else round(value, digits)


def dora_summary(
    scope: Scope, window: Window, environment: str = "production", *, year: int | None = None
) -> dict[str, Any]:
    """The four keys plus rework rate and bands, in the CLI's JSON shape."""
    deployments = successful_deployments(scope, window, environment)
    freq = deployment_frequency(deployments, window)
    count = freq["deployments"]
    if count:
        failed = failed_deployments(deployments).count()
        unplanned = deployments.filter(Q(is_rollback=True) | Q(is_hotfix=True)).count()
        lead = lead_time_hours(scope, window, environment)
        recovery = recovery_hours(scope, window)
        cfr: float | None = failed / count
        rework: float | None = unplanned / count
        lt_median, lt_p90 = median(lead), percentile(lead, 0.9)
        rt_median = median(recovery)
    else:
        cfr = rework = lt_median = lt_p90 = rt_median = None
    result = {
        "deployments": count,
        "deployment_days": freq["deployment_days"],
        "deployment_frequency_per_day": _round(freq["deployment_frequency_per_day"]),
        "lead_time_median_hours": _round(lt_median),
        "lead_time_p90_hours": _round(lt_p90),
        "change_failure_rate": _round(cfr),
        "recovery_time_median_hours": _round(rt_median),
        "rework_rate": _round(rework),
    }
    result["bands"] = {
        "deployment_frequency": band(
            "deployment_frequency", result["deployment_frequency_per_day"], year
        )
        if count
        else None,
        "lead_time": band("lead_time", lt_median, year),
        "change_failure_rate": band("change_failure_rate", cfr, year),
        "recovery_time": band("recovery_time", rt_median, year),
    }
    return result


def previous_successful_deployment(deployment: Deployment) -> Deployment | None:
    """The same component's latest successful deployment to the same environment that finished
    before this one (DevLake's prev_success_deployment_commit); None for failures."""
    if deployment.status != DeploymentStatus.SUCCESS or not deployment.environment:
        return None
    return (
        Deployment.objects.filter(
            component_key=deployment.component_key,
            environment=deployment.environment,
            status=DeploymentStatus.SUCCESS,
            finished_at__lt=deployment.finished_at,
        )
        .order_by("-finished_at", "-pk")
        .first()
    )
