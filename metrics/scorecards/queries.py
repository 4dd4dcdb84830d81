"""Reads for the Scorecard tab and the scorecards page (constant query counts)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.paginator import Paginator
from django.db.models import Avg, Count, Q, QuerySet

from catalog.models import Entity
from metrics.charts import WIDE, line_chart
from metrics.scorecards.models import (
    Check,
    Outcome,
    Scorecard,
    ScorecardResult,
    ScorecardSnapshot,
)

PAGE_SIZE = 50


@dataclass
class CheckRow:
    check: Check
    status: str
    reason: str


def component_scorecards(entity: Entity) -> list[dict[str, Any]]:
    """Every active scorecard's current result for one component, with its checks (3 queries)."""
    results = {
        r.scorecard_id: r
        for r in ScorecardResult.objects.filter(
            component=entity, current=True, scorecard__active=True
        )
    }
    cards = list(Scorecard.objects.filter(active=True).prefetch_related("levels", "checks__level"))
    out = []
    for card in cards:
        result = results.get(card.pk)
        outcomes = result.outcomes if result else {}
        rows = [
            CheckRow(
                check=c,
                status=outcomes.get(c.key, {}).get("status", Outcome.UNKNOWN),
                reason=outcomes.get(c.key, {}).get("reason", "not evaluated yet"),
            )
            for c in sorted(card.checks.all(), key=lambda c: (c.level.rank, c.order, c.key))
        ]
        out.append(
            {
                "scorecard": card,
                "result": result,
                "levels": sorted(card.levels.all(), key=lambda lv: lv.rank),
                "failing": [r for r in rows if r.status != Outcome.PASS],
                "passing": [r for r in rows if r.status == Outcome.PASS],
            }
        )
    return out


def current_results(
    scorecard: Scorecard, *, team: str = "", level: str = "", q: str = ""
) -> QuerySet[ScorecardResult]:
    qs = ScorecardResult.objects.filter(scorecard=scorecard, current=True).select_related(
        "component"
    )
    if team:
        qs = qs.filter(component__owner_ref__iexact=team)
    if level == "none":
        qs = qs.filter(level_name="")
    elif level:
        qs = qs.filter(level_name=level)
    if q:
        qs = qs.filter(Q(component__name__icontains=q) | Q(component__title__icontains=q))
    return qs


def page_context(
    *, scorecard_id: str = "", team: str = "", level: str = "", q: str = "", page: str = "1"
) -> dict[str, Any]:
    """Everything the scorecards page shows: ranking of teams and components, trend chart."""
    cards = list(Scorecard.objects.filter(active=True))
    card = next((c for c in cards if str(c.pk) == scorecard_id), cards[0] if cards else None)
    if card is None:
        return {"scorecards": [], "scorecard": None}
    results = current_results(card, team=team, level=level, q=q)
    components = Paginator(
        results.order_by("-level_rank", "-passed", "component__name"), PAGE_SIZE
    ).get_page(page)
    teams: list[dict[str, Any]] = [
        dict(row)
        for row in ScorecardResult.objects.filter(scorecard=card, current=True)
        .values("component__owner_ref")
        .annotate(
            components=Count("id"),
            avg_rank=Avg("level_rank"),
            passed=Avg("passed"),
            total=Avg("total"),
        )
        .order_by("-avg_rank", "-passed", "component__owner_ref")
    ]
    for t in teams:
        t["owner_ref"] = t.pop("component__owner_ref") or ""
        t["score"] = (t["passed"] or 0) / t["total"] if t["total"] else 0.0
    snaps = list(
        ScorecardSnapshot.objects.filter(scorecard=card, owner_ref=team.lower()).order_by("day")[
            :365
        ]
    )
    trend = line_chart(
        f"Share of checks passed{' for ' + team if team else ''}",
        [(s.day.strftime("%b %d"), s.score) for s in snaps],
        unit="%",
        top=1,
        width=WIDE,
    )
    return {
        "scorecards": cards,
        "scorecard": card,
        "levels": list(card.levels.order_by("rank")),
        "teams": teams,
        "components": components,
        "trend": trend,
        "snapshots": snaps,
        "filters": {"team": team, "level": level, "q": q},
    }
