"""Read side for the metrics pages: everything the dashboard shows comes from DailyRollup rows,
so a page costs a few small queries whatever the number of events."""

from __future__ import annotations

import contextlib
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, cast

from django.db.models import Count, Max, QuerySet, Sum
from django.utils import timezone

from catalog.models import Entity
from catalog.names import ref_name
from metrics import dora
from metrics.models import Change, DailyRollup, Deployment, DirtyDay, Incident
from metrics.rollups import COUNT_FIELDS, refresh_rollups, summarize

WINDOWS = (7, 30, 90, 180, 365)
DEFAULT_WINDOW = 90
REFRESH_ON_READ = 5000  # component-days a page may refresh itself before reading


@dataclass(frozen=True)
class DashboardWindow:
    days: int
    until: date

    @property
    def since(self) -> date:
        return self.until - timedelta(days=self.days - 1)


def parse_window(
    raw: str | None, today: date | None = None, until: str | None = None
) -> DashboardWindow:
    """`window` is one of WINDOWS days ending `until` (a YYYY-MM-DD date, default today)."""
    try:
        days = int(raw or DEFAULT_WINDOW)
    except ValueError:
        days = DEFAULT_WINDOW
    if days not in WINDOWS:
        days = DEFAULT_WINDOW
    end = today or timezone.now().date()
    if until:
        with contextlib.suppress(ValueError):  # a bad value falls back to today
            end = date.fromisoformat(until)
    return DashboardWindow(days=days, until=end)


def ensure_fresh() -> None:
    """Catch up on rollups when the background refresh has not run yet (bounded)."""
    if DirtyDay.objects.exists():
        refresh_rollups(max_days=REFRESH_ON_READ)


def _week(d: date) -> date:
    return d - timedelta(days=d.weekday())


def scope_rows(scope: str, window: DashboardWindow, env: str) -> list[dict[str, Any]]:
    return list(
        DailyRollup.objects.filter(
            scope=scope, environment=env, day__gte=window.since, day__lte=window.until
        ).values("day", *COUNT_FIELDS)
    )


def keys_from_rows(rows: list[dict[str, Any]], window: DashboardWindow) -> dict[str, Any]:
    """The four keys (+ rework) and their bands from rollup rows."""
    s = summarize(rows)
    s["deployment_frequency_per_day"] = s["deployments"] / window.days
    s["deployment_frequency_per_week"] = s["deployments"] * 7 / window.days
    s["bands"] = {
        "deployment_frequency": dora.band("deployment_frequency", s["deployment_frequency_per_day"])
        if s["deployments"]
        else None,
        "lead_time": dora.band("lead_time", s["lead_time_median_hours"]),
        "change_failure_rate": dora.band("change_failure_rate", s["change_failure_rate"]),
        "recovery_time": dora.band("recovery_time", s["recovery_time_median_hours"]),
    }
    return s


def weekly_series(rows: list[dict[str, Any]], window: DashboardWindow) -> list[dict[str, Any]]:
    by_week: dict[date, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        by_week[_week(r["day"])].append(r)
    weeks = []
    w = _week(window.since)
    while w <= window.until:
        s = summarize(by_week.get(w, []))
        weeks.append({"week": w, "label": w.strftime("%d %b"), **s})
        w += timedelta(days=7)
    return weeks


def grouped(prefix: str, window: DashboardWindow, env: str, **filters: Any) -> list[dict[str, Any]]:
    """One summary per team (prefix "team:") or per component (prefix "component:")."""
    rows = (
        DailyRollup.objects.filter(
            scope__startswith=prefix,
            environment=env,
            day__gte=window.since,
            day__lte=window.until,
            **filters,
        )
        .values("scope")
        .annotate(**{f: Sum(f) for f in COUNT_FIELDS})
        .order_by("scope")
    )
    out = []
    for r in cast("Iterable[dict[str, Any]]", rows):
        s = summarize([r])
        s["deployment_days"] = None  # not additive across a group row
        s["name"] = r["scope"].removeprefix(prefix)
        s["deployment_frequency_per_day"] = s["deployments"] / window.days
        out.append(s)
    out.sort(key=lambda s: -s["deployments"])
    return out


def environments() -> list[str]:
    envs = list(
        DailyRollup.objects.filter(scope="org").values_list("environment", flat=True).distinct()
    )
    return sorted(set(envs) | {"production"})


def team_name(owner_ref: str) -> str:
    return ref_name(owner_ref)


def components_of_team(team: str) -> QuerySet[Entity]:
    return Entity.objects.filter(kind__iexact="component", owner_ref__in=dora.team_refs(team))


def component_by_name(name: str) -> Entity | None:
    return Entity.objects.filter(kind__iexact="component", name__iexact=name).first()


def recent_deployments(component_key: str, limit: int = 10) -> list[Deployment]:
    return list(
        Deployment.objects.filter(component_key=component_key)
        .select_related("undone_by")
        .order_by("-finished_at")[:limit]
    )


def recent_incidents(component_key: str, limit: int = 10) -> list[Incident]:
    return list(
        Incident.objects.filter(component_key=component_key)
        .select_related("attributed_deployment")
        .order_by("-started_at")[:limit]
    )


def unlinked_events(limit: int = 200) -> dict[str, list[dict[str, Any]]]:
    """Identifiers (component name, repository, Argo CD app, PagerDuty service) that arrived
    without a catalog component, with counts, for the platform team to map."""
    out: dict[str, list[dict[str, Any]]] = {}
    for label, model, last in (
        ("deployments", Deployment, "finished_at"),
        ("incidents", Incident, "started_at"),
        ("changes", Change, "committed_at"),
    ):
        out[label] = list(
            cast(Any, model)
            .objects.filter(component__isnull=True)
            .values("component_name")
            .annotate(n=Count("pk"), last=Max(last))
            .order_by("-n", "component_name")[:limit]
        )
    return out
