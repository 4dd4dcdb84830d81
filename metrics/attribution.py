"""Attribute incidents to the deployment that caused them and rollbacks/hotfixes to the
deployment they undo; `recompute_components` redoes both after out-of-order events."""

from __future__ import annotations

from collections.abc import Mapping

from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce

from metrics.batch import PRODUCTION, Batch, Dep, Incoming, mark_dirty, with_link_hint
from metrics.events import IncidentIn
from metrics.models import Deployment, DeploymentStatus, Incident


def _undo_target() -> Subquery:
    """The latest earlier planned successful deployment of the outer rollback's component."""
    return Subquery(
        Deployment.objects.filter(
            component_key=OuterRef("component_key"),
            environment=OuterRef("environment"),
            status=DeploymentStatus.SUCCESS,
            is_rollback=False,
            is_hotfix=False,
            finished_at__lt=Coalesce(OuterRef("started_at"), OuterRef("finished_at")),
        )
        .order_by("-finished_at", "-pk")
        .values("pk")[:1]
    )


def mark_undone(batch: Batch, rollbacks: list[Dep]) -> None:
    """Each rollback/hotfix undoes the component's latest earlier planned successful deployment
    (unless an earlier rollback already did): two queries for the whole batch."""
    if not rollbacks:
        return
    targets = dict(
        Deployment.objects.filter(pk__in=[r.pk for r in rollbacks])
        .annotate(target=_undo_target())
        .values_list("pk", "target")
    )
    state = {
        pk: (undone, key, env, fin)
        for pk, undone, key, env, fin in Deployment.objects.filter(
            pk__in={t for t in targets.values() if t is not None}
        ).values_list("pk", "undone_by_id", "component_key", "environment", "finished_at")
    }
    undo: dict[int, int] = {}
    for rollback in rollbacks:  # already in finished order: the first rollback wins
        target = targets.get(rollback.pk)
        if target is None or target in undo or state[target][0] is not None:
            continue
        undo[target] = rollback.pk
        _, key, env, fin = state[target]
        batch.mark(key, env, fin)
    _set_undone(undo)


def _set_undone(undo: Mapping[int, int | None]) -> None:
    if undo:
        Deployment.objects.bulk_update(
            [Deployment(pk=t, undone_by_id=r) for t, r in undo.items()],
            ["undone_by"],
            batch_size=1000,
        )


def store_incidents(
    batch: Batch, items: list[Incoming], unlinked: list[int], raws: dict[int, int]
) -> None:
    """Merge incident events into their rows (a resolve may arrive before its trigger), then
    attribute all of them in one pass."""
    ids = [i.event.id for i in items]  # type: ignore[union-attr]
    rows = {i.external_id: i for i in Incident.objects.filter(external_id__in=ids)}
    for item in items:
        event = item.event
        if not isinstance(event, IncidentIn):
            raise TypeError("not an incident")
        entity, name, key = batch.component(item, event.component)
        incident = rows.get(event.id)
        if incident is None:
            incident = rows[event.id] = Incident(external_id=event.id, source=item.source)
        incident.component = entity
        incident.component_name = name
        incident.component_key = key
        incident.title = event.title or incident.title
        # Merge rather than overwrite: a resolve may arrive before its trigger (out of order).
        incident.started_at = event.started_at or incident.started_at
        incident.resolved_at = (
            None if event.reopened else (event.resolved_at or incident.resolved_at)
        )
        incident.deployment_ref = event.deployment or incident.deployment_ref
        incident.extra = {**incident.extra, **event.extra}
        incident.extra = with_link_hint(item, incident.extra)
        if entity is None:
            unlinked.append(raws[id(item)])
    touched = [rows[i] for i in dict.fromkeys(ids)]
    fresh = [i for i in touched if i._state.adding]
    fresh_ids = {id(i) for i in fresh}
    Incident.objects.bulk_create(fresh)
    for incident in touched:
        if id(incident) not in fresh_ids:
            incident.save()
        batch.mark(incident.component_key, PRODUCTION, incident.started_at)
    _attribute(batch, Incident.objects.filter(pk__in=[i.pk for i in touched]))


def _attribute(batch: Batch, incidents: QuerySet[Incident]) -> None:
    """Explicit cause when named and known; else the component's last successful production
    deployment finished before the incident started. Set-based: one query reads the current and
    the right attribution of every incident, one writes those that differ."""
    rows = incidents.annotate(
        explicit=Subquery(
            Deployment.objects.filter(external_id=OuterRef("deployment_ref")).values("pk")[:1]
        ),
        implicit=Subquery(
            Deployment.objects.filter(
                component_key=OuterRef("component_key"),
                environment=PRODUCTION,
                status=DeploymentStatus.SUCCESS,
                finished_at__lt=OuterRef("started_at"),
            )
            .order_by("-finished_at", "-pk")
            .values("pk")[:1]
        ),
    ).values_list(
        "pk",
        "deployment_ref",
        "started_at",
        "explicit",
        "implicit",
        "attributed_deployment_id",
        "attributed_explicitly",
    )
    changed: list[Incident] = []
    touched: set[int] = set()
    for pk, ref, started, explicit, implicit, current, was_explicit in rows:
        if ref and explicit is not None:
            want: tuple[int | None, bool] = (explicit, True)
        else:
            want = (implicit if started is not None else None, False)
        if want != (current, was_explicit):
            changed.append(
                Incident(pk=pk, attributed_deployment_id=want[0], attributed_explicitly=want[1])
            )
            touched.update(d for d in (current, want[0]) if d is not None)
    if not changed:
        return
    Incident.objects.bulk_update(
        changed, ["attributed_deployment", "attributed_explicitly"], batch_size=1000
    )
    for key, env, fin in Deployment.objects.filter(pk__in=touched).values_list(
        "component_key", "environment", "finished_at"
    ):
        batch.mark(key, env, fin)


def recompute_components(keys: set[str], *, batch: Batch | None = None) -> None:
    """Redo rollback and incident attribution for these components (after out-of-order events),
    with a constant number of queries however many components and rows there are."""
    own = batch is None
    batch = batch or Batch()
    keys = set(keys)
    before = dict(
        Deployment.objects.filter(component_key__in=keys, undone_by__isnull=False).values_list(
            "pk", "undone_by_id"
        )
    )
    after: dict[int, int] = {}
    for pk, target in (
        Deployment.objects.filter(
            Q(is_rollback=True) | Q(is_hotfix=True),
            component_key__in=keys,
            status=DeploymentStatus.SUCCESS,
        )
        .annotate(target=_undo_target())
        .order_by("finished_at", "pk")
        .values_list("pk", "target")
    ):
        if target is not None and target not in after:
            after[target] = pk
    diff: dict[int, int | None] = {}
    for target in before.keys() | after.keys():
        if before.get(target) != after.get(target):
            diff[target] = after.get(target)
    _set_undone(diff)
    for key, env, fin in Deployment.objects.filter(pk__in=list(diff)).values_list(
        "component_key", "environment", "finished_at"
    ):
        batch.mark(key, env, fin)
    _attribute(batch, Incident.objects.filter(component_key__in=keys))
    if own:
        mark_dirty(batch.dirty)
