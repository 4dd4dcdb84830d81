"""Daily rollups: incremental recomputation of dirty component-days, then team and org rows.

Ingestion records which (component, environment, day) changed in DirtyDay; refresh_rollups()
recomputes exactly those component-days from the base tables (one set-based INSERT ... SELECT
per chunk) and re-sums the team and organisation rows of the touched days. Dashboards read only
DailyRollup rows, so their cost depends on the window length, not on the number of events.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, date, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models.functions import TruncDate

from catalog.models import Entity
from metrics.models import (
    HOUR_BUCKETS,
    N_BUCKETS,
    Change,
    DailyRollup,
    Deployment,
    DirtyDay,
    Incident,
)

PRODUCTION = "production"
COUNT_FIELDS = (
    "deployments",
    "failed",
    "unplanned",
    "lead_times",
    "lead_time_hours_sum",
    "recoveries",
    "recovery_hours_sum",
    *(f"lt_b{i}" for i in range(N_BUCKETS)),
    *(f"rt_b{i}" for i in range(N_BUCKETS)),
)
CHUNK = 20000
ANALYZE_AFTER = 10000


def _bucket_edges() -> list[tuple[timedelta | None, timedelta | None]]:
    edges: list[tuple[timedelta | None, timedelta | None]] = []
    low: timedelta | None = timedelta(0)
    for hours in HOUR_BUCKETS:
        high = timedelta(hours=hours)
        edges.append((low, high))
        low = high
    edges.append((low, None))
    return edges


def _owners() -> dict[str, str]:
    return {
        name.lower(): owner
        for name, owner in Entity.objects.filter(kind__iexact="component").values_list(
            "name", "owner_ref"
        )
    }


def rebuild_rollups() -> int:
    """Throw away every rollup and recompute from the base tables."""
    with transaction.atomic():
        DailyRollup.objects.all().delete()
        DirtyDay.objects.all().delete()
        rows: set[tuple[str, str, date]] = set()
        for k, e, d in (
            Deployment.objects.annotate(d=TruncDate("finished_at", tzinfo=UTC))
            .values_list("component_key", "environment", "d")
            .distinct()
        ):
            rows.add((k, e, d))
        for k, d in (
            Change.objects.filter(first_prod_deployed_at__isnull=False)
            .annotate(d=TruncDate("first_prod_deployed_at", tzinfo=UTC))
            .values_list("component_key", "d")
            .distinct()
        ):
            rows.add((k, PRODUCTION, d))
        for k, d in (
            Incident.objects.filter(started_at__isnull=False)
            .annotate(d=TruncDate("started_at", tzinfo=UTC))
            .values_list("component_key", "d")
            .distinct()
        ):
            rows.add((k, PRODUCTION, d))
        DirtyDay.objects.bulk_create(
            [DirtyDay(component_key=k, environment=e, day=d) for k, e, d in rows], batch_size=5000
        )
    return refresh_rollups()


# --- Set-based refresh ----------------------------------------------------------------------
#
# One DELETE ... RETURNING claims a chunk of dirty days (SKIP LOCKED, so two refreshers never
# take the same day), one INSERT ... SELECT recomputes their component rows with an index probe
# per component-day into each base table, and two statements re-sum the team and organisation
# rows of the touched days. No row passes through Python.


def _interval(hours: float) -> str:
    return f"interval '{int(hours * 3600)} seconds'"  # constants from HOUR_BUCKETS, not input


def _bucket_sql(prefix: str, expr: str) -> str:
    out = []
    for i, (low, high) in enumerate(_bucket_edges()):
        cond = f"{expr} >= {_interval(low.total_seconds() / 3600 if low else 0)}"
        if high is not None:
            cond += f" AND {expr} < {_interval(high.total_seconds() / 3600)}"
        out.append(f"count(*) FILTER (WHERE {cond}) AS {prefix}{i}")
    return ", ".join(out)


_LT = [f"lt_b{i}" for i in range(N_BUCKETS)]
_RT = [f"rt_b{i}" for i in range(N_BUCKETS)]
_DAY_START = "(t.d::timestamp AT TIME ZONE 'UTC')"
_DAY_END = "((t.d + 1)::timestamp AT TIME ZONE 'UTC')"
# Both statements are built from module constants only; values go in as parameters.
_COMPONENT_SQL = f"""
INSERT INTO metrics_dailyrollup (scope, owner_ref, environment, day, {", ".join(COUNT_FIELDS)})
SELECT 'component:' || t.k, t.owner, t.e, t.d,
       coalesce(dep.n, 0), coalesce(dep.failed, 0), coalesce(dep.unplanned, 0),
       coalesce(lt.n, 0), coalesce(lt.total, 0), coalesce(rt.n, 0), coalesce(rt.total, 0),
       {", ".join(f"coalesce(lt.{c}, 0)" for c in _LT)},
       {", ".join(f"coalesce(rt.{c}, 0)" for c in _RT)}
FROM unnest(%s::text[], %s::text[], %s::date[], %s::text[]) AS t(k, e, d, owner)
CROSS JOIN LATERAL (
    SELECT count(*) AS n,
           count(*) FILTER (WHERE x.undone_by_id IS NOT NULL OR EXISTS (
               SELECT 1 FROM metrics_incident i WHERE i.attributed_deployment_id = x.id
           )) AS failed,
           count(*) FILTER (WHERE x.is_rollback OR x.is_hotfix) AS unplanned
    FROM metrics_deployment x
    WHERE x.component_key = t.k AND x.environment = t.e AND x.status = 'success'
      AND x.finished_at >= {_DAY_START} AND x.finished_at < {_DAY_END}
) dep
CROSS JOIN LATERAL (
    SELECT count(*) AS n, sum(extract(epoch FROM c.first_prod_deployed_at - c.committed_at))
               / 3600 AS total, {_bucket_sql("lt_b", "(c.first_prod_deployed_at - c.committed_at)")}
    FROM metrics_change c
    WHERE t.e = '{PRODUCTION}' AND c.component_key = t.k
      AND c.first_prod_deployed_at >= {_DAY_START} AND c.first_prod_deployed_at < {_DAY_END}
      AND c.first_prod_deployed_at >= c.committed_at
) lt
CROSS JOIN LATERAL (
    SELECT count(*) AS n, sum(extract(epoch FROM i.resolved_at - i.started_at)) / 3600 AS total,
           {_bucket_sql("rt_b", "(i.resolved_at - i.started_at)")}
    FROM metrics_incident i
    WHERE t.e = '{PRODUCTION}' AND i.component_key = t.k AND i.resolved_at IS NOT NULL
      AND i.started_at >= {_DAY_START} AND i.started_at < {_DAY_END}
) rt
WHERE dep.n + lt.n + rt.n > 0
"""  # noqa: S608
_SUMS = ", ".join(f"sum(r.{f})" for f in COUNT_FIELDS)
_RESUM_SQL = f"""
INSERT INTO metrics_dailyrollup (scope, owner_ref, environment, day, {", ".join(COUNT_FIELDS)})
SELECT 'org', '', r.environment, r.day, {_SUMS}
FROM metrics_dailyrollup r JOIN unnest(%s::text[], %s::date[]) AS t(e, d)
  ON r.environment = t.e AND r.day = t.d
WHERE left(r.scope, 10) = 'component:'
GROUP BY r.environment, r.day
UNION ALL
SELECT 'team:' || r.owner_ref, '', r.environment, r.day, {_SUMS}
FROM metrics_dailyrollup r JOIN unnest(%s::text[], %s::date[]) AS t(e, d)
  ON r.environment = t.e AND r.day = t.d
WHERE left(r.scope, 10) = 'component:' AND r.owner_ref <> ''
GROUP BY r.owner_ref, r.environment, r.day
"""  # noqa: S608


def refresh_rollups(max_days: int | None = None) -> int:
    """Recompute dirty component-days (all, or at most max_days); returns how many."""
    done = 0
    owners: dict[str, str] | None = None
    while max_days is None or done < max_days:
        limit = min(CHUNK, max_days - done) if max_days is not None else CHUNK
        with transaction.atomic(), connection.cursor() as cur:
            cur.execute(
                "DELETE FROM metrics_dirtyday WHERE id IN (SELECT id FROM metrics_dirtyday "
                "ORDER BY component_key, environment, day LIMIT %s FOR UPDATE SKIP LOCKED) "
                "RETURNING component_key, environment, day",
                [limit],
            )
            rows = cur.fetchall()
            if not rows:
                break
            owners = owners if owners is not None else _owners()
            ks, es, ds = (list(c) for c in zip(*rows, strict=True))
            cur.execute(
                "DELETE FROM metrics_dailyrollup r "
                "USING unnest(%s::text[], %s::text[], %s::date[]) AS t(k, e, d) "
                "WHERE r.scope = 'component:' || t.k AND r.environment = t.e AND r.day = t.d",
                [ks, es, ds],
            )
            cur.execute(_COMPONENT_SQL, [ks, es, ds, [owners.get(k, "") for k in ks]])
            env_days = sorted({(e, d) for _, e, d in rows})
            envs, days = [e for e, _ in env_days], [d for _, d in env_days]
            cur.execute(
                "DELETE FROM metrics_dailyrollup r USING unnest(%s::text[], %s::date[]) AS t(e, d) "
                "WHERE r.environment = t.e AND r.day = t.d AND left(r.scope, 10) <> 'component:'",
                [envs, days],
            )
            cur.execute(_RESUM_SQL, [envs, days, envs, days])
        done += len(rows)
    if done >= ANALYZE_AFTER:
        # Fresh statistics after a big refresh (a backfill, a large import): with those of a
        # small table the planner reads the dashboard's team rows through the wrong index.
        with connection.cursor() as cur:
            cur.execute("ANALYZE metrics_dailyrollup")
    return done


# --- Reading -------------------------------------------------------------------------------


def histogram_percentile(counts: list[int], fraction: float) -> float | None:
    """Estimate a percentile (hours) from bucket counts by linear interpolation in the bucket."""
    total = sum(counts)
    if total == 0:
        return None
    target = fraction * total
    seen = 0.0
    lows = [0.0, *HOUR_BUCKETS]
    for i, n in enumerate(counts):
        if n and seen + n >= target:
            low = lows[i]
            high = HOUR_BUCKETS[i] if i < len(HOUR_BUCKETS) else low * 2
            return low + (high - low) * ((target - seen) / n)
        seen += n
    return lows[-1]


def summarize(rows: Iterable[DailyRollup | dict[str, Any]]) -> dict[str, Any]:
    """Sum rollup rows into deployments, rates and (estimated) medians."""
    total: dict[str, float] = defaultdict(float)
    days = 0
    for r in rows:
        get = r.get if isinstance(r, dict) else lambda f, r=r: getattr(r, f)
        for f in COUNT_FIELDS:
            total[f] += get(f) or 0
        if (get("deployments") or 0) > 0:
            days += 1
    n = int(total["deployments"])
    lt = [int(total[f"lt_b{i}"]) for i in range(N_BUCKETS)]
    rt = [int(total[f"rt_b{i}"]) for i in range(N_BUCKETS)]
    return {
        "deployments": n,
        "deployment_days": days,
        "change_failure_rate": total["failed"] / n if n else None,
        "rework_rate": total["unplanned"] / n if n else None,
        "lead_time_median_hours": histogram_percentile(lt, 0.5) if n else None,
        "lead_time_p90_hours": histogram_percentile(lt, 0.9) if n else None,
        "recovery_time_median_hours": histogram_percentile(rt, 0.5) if n else None,
        "lead_time_mean_hours": total["lead_time_hours_sum"] / total["lead_times"]
        if total["lead_times"]
        else None,
    }
