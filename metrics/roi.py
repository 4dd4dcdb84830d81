"""The seed's ROI calculation: (hours per new service before - after) * services per month →
hours saved, * hourly cost → money saved. "After" and "services per month" are measured from
actual scaffolder runs when there are any, unless the reader overrides them."""

from __future__ import annotations

import statistics
from datetime import date, timedelta
from typing import Any

from django.db.models import Min

from metrics.models import Deployment, DeploymentStatus
from metrics.platform import scaffolder_runs

DEFAULTS = {
    "before_hours": 40.0,
    "after_hours": 4.0,
    "services_per_month": 8.0,
    "hourly_cost": 150.0,
}
LABELS = {
    "before_hours": "Developer hours per new service, before",
    "after_hours": "Developer hours per new service, with Paved",
    "services_per_month": "New services per month",
    "hourly_cost": "Fully-loaded cost per developer hour ($)",
}


def measured(today: date) -> dict[str, Any]:
    """From the last 30 days of successful scaffolder runs: how many services were created and
    the median elapsed hours from starting the run to the component's first production deploy
    (run duration when it was never deployed)."""
    since = today - timedelta(days=30)
    runs = list(
        scaffolder_runs()
        .filter(finished_at__date__gt=since, finished_at__date__lte=today)
        .values_list("context__component_ref", "started_at", "created_at", "finished_at")
    )
    if not runs:
        return {"runs": 0}
    names = {str(r[0]).rsplit("/", 1)[-1].lower() for r in runs if r[0]}
    first = dict(
        Deployment.objects.filter(
            component_key__in=names, environment="production", status=DeploymentStatus.SUCCESS
        )
        .values("component_key")
        .annotate(f=Min("finished_at"))
        .values_list("component_key", "f")
    )
    hours = []
    for ref, started, created, finished in runs:
        begin = started or created
        end = first.get(str(ref).rsplit("/", 1)[-1].lower()) if ref else None
        end = end if end and end >= finished else finished
        if end is None:
            continue
        hours.append((end - begin).total_seconds() / 3600)
    return {
        "runs": len(runs),
        "after_hours": statistics.median(hours),
        "services_per_month": len(runs),
    }


def calculate(
    before_hours: float, after_hours: float, services_per_month: float, hourly_cost: float
) -> dict[str, float]:
    hours_before = before_hours * services_per_month
    hours_after = after_hours * services_per_month
    saved = hours_before - hours_after
    return {
        "hours_before": hours_before,
        "hours_after": hours_after,
        "hours_saved": saved,
        "money_saved": saved * hourly_cost,
    }


def roi_context(params: Any, *, today: date) -> dict[str, Any]:
    m = measured(today)
    values = dict(DEFAULTS)
    sources = dict.fromkeys(DEFAULTS, "the launch plan's estimate")
    for key in ("after_hours", "services_per_month"):
        if m.get(key) is not None:
            values[key] = float(m[key])
            sources[key] = f"measured from {m['runs']} run(s) in the last 30 days"
    errors: dict[str, str] = {}
    for key in DEFAULTS:
        raw = (params.get(key) or "").strip()
        if not raw:
            continue
        try:
            value = float(raw)
            if value < 0 or value > 1_000_000:
                raise ValueError
        except ValueError:
            errors[key] = "Enter a number from 0 to 1,000,000."
            continue
        values[key] = value
        sources[key] = "entered"
    fields = [
        {
            "name": k,
            "label": LABELS[k],
            "value": params.get(k) or f"{values[k]:g}",
            "source": sources[k],
            "error": errors.get(k, ""),
        }
        for k in DEFAULTS
    ]
    return {
        "fields": fields,
        "errors": errors,
        "values": values,
        "measured": m,
        "result": None if errors else calculate(**values),
        "seed": calculate(**DEFAULTS),
    }
