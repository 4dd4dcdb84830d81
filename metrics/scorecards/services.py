"""Evaluate scorecards in batches and store the history.

evaluate() runs every active scorecard over the given components (default: every active
component) BATCH at a time: each rule's prepare runs once per batch, outcomes are computed in
memory, then one transaction flips the previous results' `current` flag and bulk-inserts the new
ones. evaluate_dirty() is what the beat job runs: components changed since their last result,
never evaluated, evaluated too long ago, or whose scorecard definition changed.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from catalog.models import Entity
from metrics.platform import active_components
from metrics.scorecards.models import (
    Check,
    Level,
    Outcome,
    Scorecard,
    ScorecardResult,
    ScorecardSnapshot,
)
from metrics.scorecards.rules import RULES, BatchCache, RuleContext

logger = logging.getLogger(__name__)
BATCH = 2000
STALE_AFTER = timedelta(hours=24)
# Superseded results older than this are deleted; the daily snapshots keep the long-term trend.
HISTORY_KEEP = timedelta(days=400)
COMPONENT_FIELDS = (
    "id", "kind", "namespace", "name", "ref", "description", "owner_ref", "lifecycle",
    "metadata", "processing_errors", "updated_at",
)  # fmt: skip


@dataclass
class Evaluated:
    """One component's fresh result (what the CLI prints)."""

    scorecard: Scorecard
    component: Entity
    result: ScorecardResult
    failing: list[dict[str, str]] = field(default_factory=list)


def _definition(scorecard: Scorecard) -> tuple[list[Level], list[Check]]:
    levels = list(scorecard.levels.order_by("rank"))
    checks = list(scorecard.checks.select_related("level").order_by("level__rank", "order", "key"))
    return levels, checks


def _outcomes(
    checks: Sequence[Check], batch: Sequence[Entity], cache: BatchCache
) -> dict[int, dict[str, dict[str, str]]]:
    """component pk -> check key -> {"status", "reason"}; never raises."""
    out: dict[int, dict[str, dict[str, str]]] = defaultdict(dict)
    for check in checks:
        rule = RULES.get(check.rule)
        context = RuleContext(params=dict(check.params or {}), cache=cache)
        prepare_error = ""
        if rule is None:
            prepare_error = f"unknown rule {check.rule!r}"
        elif rule.prepare is not None:
            try:
                context.data = rule.prepare(batch, context)
            except Exception as exc:  # a broken data source: unknown for the batch, go on
                logger.warning("scorecard rule %s prepare failed: %s", check.rule, exc)
                prepare_error = f"{type(exc).__name__}: {exc}"
        for component in batch:
            if prepare_error or rule is None:
                out[component.pk][check.key] = {"status": Outcome.UNKNOWN, "reason": prepare_error}
                continue
            try:
                passed, reason = rule.func(component, context)
            except Exception as exc:  # one bad component never stops the rest
                passed, reason = None, f"{type(exc).__name__}: {exc}"
            status = Outcome.UNKNOWN if passed is None else Outcome.PASS if passed else Outcome.FAIL
            out[component.pk][check.key] = {"status": status.value, "reason": str(reason)}
    return out


def level_reached(
    levels: Sequence[Level], checks: Sequence[Check], outcomes: dict[str, dict[str, str]]
) -> Level | None:
    """The highest level whose checks, and every lower level's checks, all pass."""
    reached = None
    for level in levels:
        mine = [c for c in checks if c.level_id == level.pk]
        if any(outcomes.get(c.key, {}).get("status") != Outcome.PASS for c in mine):
            break
        reached = level
    return reached


def evaluate(
    *,
    components: QuerySet[Entity] | None = None,
    scorecards: Iterable[Scorecard] | None = None,
    batch_size: int = BATCH,
    now: datetime | None = None,
) -> list[Evaluated]:
    """Evaluate and store results for `components` (default: every active component)."""
    now = now or timezone.now()
    qs = components if components is not None else active_components()
    qs = qs.filter(kind__iexact="component").only(*COMPONENT_FIELDS).order_by("pk")
    cards = (
        list(scorecards) if scorecards is not None else list(Scorecard.objects.filter(active=True))
    )
    done: list[Evaluated] = []
    for scorecard in cards:
        levels, checks = _definition(scorecard)
        cache = BatchCache(now=now)  # repo listings reused across batches of one run
        last_pk = 0
        while True:
            batch = list(qs.filter(pk__gt=last_pk)[:batch_size])
            if not batch:
                break
            last_pk = batch[-1].pk
            done += _evaluate_batch(scorecard, levels, checks, batch, cache, now)
        snapshot(scorecard=scorecard, day=now.date())
    return done


def _evaluate_batch(
    scorecard: Scorecard,
    levels: Sequence[Level],
    checks: Sequence[Check],
    batch: Sequence[Entity],
    cache: BatchCache,
    now: datetime,
) -> list[Evaluated]:
    outcomes = _outcomes(checks, batch, cache)
    rows: list[Evaluated] = []
    for component in batch:
        mine = outcomes.get(component.pk, {})
        level = level_reached(levels, checks, mine)
        result = ScorecardResult(
            scorecard=scorecard,
            component=component,
            evaluated_at=now,
            level_name=level.name if level else "",
            level_rank=level.rank if level else 0,
            passed=sum(1 for o in mine.values() if o["status"] == Outcome.PASS),
            total=len(checks),
            outcomes=mine,
            current=True,
        )
        failing = [
            {"key": c.key, "title": c.title, **mine[c.key]}
            for c in checks
            if mine.get(c.key, {}).get("status") != Outcome.PASS
        ]
        rows.append(Evaluated(scorecard, component, result, failing))
    with transaction.atomic():
        ScorecardResult.objects.filter(
            scorecard=scorecard, component_id__in=[c.pk for c in batch], current=True
        ).update(current=False)
        ScorecardResult.objects.bulk_create([r.result for r in rows], batch_size=1000)
    return rows


def dirty_components(scorecard: Scorecard, *, now: datetime | None = None) -> QuerySet[Entity]:
    """Active components needing a new result for this scorecard."""
    now = now or timezone.now()
    current = ScorecardResult.objects.filter(
        scorecard=scorecard, component=OuterRef("pk"), current=True
    )
    fresh = current.filter(
        Q(evaluated_at__gte=OuterRef("updated_at"))
        & Q(evaluated_at__gte=now - STALE_AFTER)
        & Q(evaluated_at__gte=scorecard.updated_at)
    )
    return active_components().filter(~Exists(fresh))


def evaluate_dirty(*, now: datetime | None = None) -> int:
    """The beat job: re-evaluate what changed (or went stale) for every active scorecard."""
    now = now or timezone.now()
    count = 0
    for scorecard in Scorecard.objects.filter(active=True):
        pks = list(dirty_components(scorecard, now=now).values_list("pk", flat=True))
        if pks:
            count += len(
                evaluate(
                    components=Entity.objects.filter(pk__in=pks), scorecards=[scorecard], now=now
                )
            )
    prune_history(now=now)
    return count


def prune_history(*, now: datetime | None = None, keep: timedelta = HISTORY_KEEP) -> int:
    """Delete non-current results older than `keep` (current ones are never deleted)."""
    cutoff = (now or timezone.now()) - keep
    deleted, _ = ScorecardResult.objects.filter(current=False, evaluated_at__lt=cutoff).delete()
    return deleted


def snapshot(*, scorecard: Scorecard, day: Any) -> None:
    """Upsert today's aggregate (all components and per team) from the current results."""
    rows = ScorecardResult.objects.filter(scorecard=scorecard, current=True).values_list(
        "component__owner_ref", "level_name", "passed", "total"
    )
    agg: dict[str, dict[str, Any]] = defaultdict(
        lambda: {"n": 0, "score": 0.0, "levels": Counter()}
    )
    for owner, level, passed, total in rows.iterator(chunk_size=5000):
        share = passed / total if total else 0.0
        keys = {"", (owner or "").lower()}  # everyone, and the owning team
        for key in keys:
            a = agg[key]
            a["n"] += 1
            a["score"] += share
            a["levels"][level or "none"] += 1
    objs = [
        ScorecardSnapshot(
            scorecard=scorecard,
            day=day,
            owner_ref=key,
            components=a["n"],
            score=a["score"] / a["n"] if a["n"] else 0.0,
            levels=dict(a["levels"]),
        )
        for key, a in agg.items()
    ]
    with transaction.atomic():
        ScorecardSnapshot.objects.filter(scorecard=scorecard, day=day).delete()
        ScorecardSnapshot.objects.bulk_create(objs)


def on_component_saved(entity: Entity) -> None:
    """Signal hook: evaluate one saved component right after its transaction commits."""
    if entity.kind.lower() != "component":
        return
    pk = entity.pk

    def run() -> None:
        try:
            from metrics.tasks import evaluate_scorecards_task

            evaluate_scorecards_task.delay(component_id=pk)
        except Exception as exc:  # no broker: the beat job catches up
            logger.info("could not enqueue scorecard evaluation for %s: %s", pk, exc)

    transaction.on_commit(run)
