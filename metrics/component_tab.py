"""The "Deployments & metrics" fragment for a catalog component page.

The catalog's tab registry wires this in: call component_dora_summary(entity) and include
"metrics/_component_tab.html" with the returned dict as `dora`.
"""

from __future__ import annotations

from typing import Any

from catalog.models import Entity
from metrics import queries
from metrics.charts import bar_chart


def component_dora_summary(
    entity: Entity, *, window: str | None = None, env: str = "production", until: str | None = None
) -> dict[str, Any]:
    """Four keys, bands, weekly deployments chart and recent deployments/incidents of one
    component, read from rollups (a handful of queries)."""
    queries.ensure_fresh()
    w = queries.parse_window(window, until=until)
    key = entity.name.lower()
    rows = queries.scope_rows(f"component:{key}", w, env)
    weeks = queries.weekly_series(rows, w)
    return {
        "entity": entity,
        "window": w,
        "environment": env,
        "keys": queries.keys_from_rows(rows, w),
        "chart": bar_chart(
            f"Deployments per week ({env})", [(x["label"], x["deployments"]) for x in weeks]
        ),
        "deployments": queries.recent_deployments(key),
        "incidents": queries.recent_incidents(key),
    }
