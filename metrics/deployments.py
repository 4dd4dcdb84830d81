"""Store deployments and the commits each shipped (lead time's first production deployment),
set-based: COPY and array parameters, a constant number of queries per batch."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import IntegrityError, connection
from django.db.models import Max

from catalog.models import Entity
from metrics.attribution import mark_undone
from metrics.batch import PRODUCTION, Batch, Dep, Incoming, with_link_hint
from metrics.events import DeploymentIn
from metrics.models import Change, Deployment, DeploymentCommit, DeploymentStatus, Incident
from portal.lib.bulk import copy_rows, insert_rows, pg_execute

_DEP_COLUMNS = (
    "external_id",
    "source",
    "component_id",
    "component_name",
    "component_key",
    "environment",
    "status",
    "started_at",
    "finished_at",
    "commit_sha",
    "is_rollback",
    "is_hotfix",
    "undone_by_id",
    "extra",
    "raw_id",
)


Resolved = tuple[Incoming, DeploymentIn, Entity | None, str, str]  # item, event, entity, name, key


def store_deployments(
    batch: Batch, items: list[Incoming], unlinked: list[int], raws: dict[int, int]
) -> None:
    """Insert new deployments and update known ones (webhook status updates), then their
    commits, and mark what must be reattributed."""
    items.sort(key=lambda i: i.event.finished_at)  # type: ignore[union-attr]
    ids = [i.event.id for i in items]  # type: ignore[union-attr]
    known_qs = Deployment.objects.raw(
        "SELECT * FROM metrics_deployment WHERE external_id = ANY(%s)", [ids]
    )
    known = {d.external_id: d for d in known_qs}
    resolved: list[Resolved] = []
    for item in items:
        event = item.event
        if not isinstance(event, DeploymentIn):
            continue
        entity, name, key = batch.component(item, event.component)
        if entity is None:
            unlinked.append(raws[id(item)])
        resolved.append((item, event, entity, name, key))

    # Latest known successful deployment per (component, env) before this batch: an older
    # deployment arriving now means attribution must be recomputed for that component.
    latest = _latest_success({(r[4], r[1].environment) for r in resolved})
    deps: dict[str, Dep] = {}
    new_rows: list[tuple[Any, ...]] = []
    new_deps: list[Dep] = []
    for item, event, entity, name, key in resolved:
        if event.id in deps:  # twice in one batch: the caller retries one at a time
            raise IntegrityError("deployment stored or updated twice in one batch")
        old = known.get(event.id)
        if old is not None:  # a webhook status update for a deployment we know
            deps[event.id] = _update_known(batch, old, (item, event, entity, name, key), raws)
            continue
        new_rows.append(_new_row((item, event, entity, name, key), raws))
        dep = deps[event.id] = Dep(
            0, event.id, key, event.environment, event.status, event.started_at,
            event.finished_at, event.commit, event.rollback, event.hotfix,
        )  # fmt: skip
        new_deps.append(dep)
        batch.mark(key, event.environment, event.finished_at)
        last = latest.get((key, event.environment))
        if last is not None and event.finished_at < last:
            batch.recompute.add(key)
        if event.status == DeploymentStatus.SUCCESS and (last is None or event.finished_at > last):
            latest[(key, event.environment)] = event.finished_at
    for dep, pk in zip(new_deps, insert_rows(Deployment, _DEP_COLUMNS, new_rows), strict=True):
        dep.pk = pk
    _link_commits(batch, resolved, deps, {d.pk for d in new_deps})
    _reattribute(batch, resolved, deps, new_deps)


def _update_known(batch: Batch, old: Deployment, resolved: Resolved, raws: dict[int, int]) -> Dep:
    item, event, entity, name, key = resolved
    batch.mark(old.component_key, old.environment, old.finished_at)
    old.source, old.component, old.component_name = item.source, entity, name
    old.component_key, old.environment, old.status = key, event.environment, event.status
    old.started_at, old.finished_at = event.started_at, event.finished_at
    old.commit_sha, old.is_rollback, old.is_hotfix = event.commit, event.rollback, event.hotfix
    old.extra, old.raw_id = with_link_hint(item, event.extra), raws[id(item)]
    old.save()
    batch.recompute.add(key)
    batch.mark(key, event.environment, event.finished_at)
    return Dep.of(old)


def _new_row(resolved: Resolved, raws: dict[int, int]) -> tuple[Any, ...]:
    """Values for `_DEP_COLUMNS`."""
    item, event, entity, name, key = resolved
    return (
        event.id, item.source, entity.pk if entity is not None else None, name, key,
        event.environment, event.status, event.started_at, event.finished_at, event.commit,
        event.rollback, event.hotfix, None, with_link_hint(item, event.extra), raws[id(item)],
    )  # fmt: skip


def _reattribute(
    batch: Batch, resolved: list[Resolved], deps: dict[str, Dep], new_deps: list[Dep]
) -> None:
    """Mark the components whose incidents may now belong to another deployment, and attribute
    this batch's rollbacks in the others."""
    keys = {r[4] for r in resolved}
    # Incidents that started after a newly stored deployment may now belong to it.
    last_incident = dict(
        Incident.objects.filter(component_key__in=keys, attributed_explicitly=False)
        .values("component_key")
        .annotate(last=_max("started_at"))
        .values_list("component_key", "last")
    )
    # Incidents that named one of these deployments before it arrived get their explicit cause.
    if new_deps:
        batch.recompute.update(
            Incident.objects.filter(
                deployment_ref__in=[d.external_id for d in new_deps], attributed_explicitly=False
            ).values_list("component_key", flat=True)
        )
    rollbacks: list[Dep] = []
    for _item, event, _entity, _name, key in resolved:
        dep = deps[event.id]
        if dep.status == DeploymentStatus.SUCCESS and (dep.is_rollback or dep.is_hotfix):
            rollbacks.append(dep)
        last = last_incident.get(key)
        if (
            dep.status == DeploymentStatus.SUCCESS
            and dep.environment == PRODUCTION
            and last is not None
            and last > dep.finished_at
        ):
            batch.recompute.add(key)
    # Components being recomputed redo every rollback anyway.
    mark_undone(batch, [r for r in rollbacks if r.component_key not in batch.recompute])


def _latest_success(pairs: set[tuple[str, str]]) -> dict[tuple[str, str], datetime]:
    """Latest successful deployment finish per (component, environment): one index probe per
    pair, so the cost does not grow with the table."""
    if not pairs:
        return {}
    ks, envs = zip(*sorted(pairs), strict=True)
    with connection.cursor() as cur:
        cur.execute(
            "SELECT p.k, p.e, (SELECT max(d.finished_at) FROM metrics_deployment d "
            "WHERE d.component_key = p.k AND d.environment = p.e AND d.status = 'success') "
            "FROM unnest(%s::text[], %s::text[]) AS p(k, e)",
            [list(ks), list(envs)],
        )
        return {(k, e): last for k, e, last in cur.fetchall() if last is not None}


def _max(name: str) -> Any:
    return Max(name)


def _link_commits(
    batch: Batch,
    resolved: list[Resolved],
    deployments: dict[str, Dep],
    fresh_ids: set[int],
) -> None:
    """Store the commits each deployment shipped and keep Change.first_prod_deployed_at."""
    # (component_key, sha) -> (component_id, component_name, committed_at); plain tuples, because
    # a batch carries tens of thousands of commits and model objects cost more than the COPY.
    wanted: dict[tuple[str, str], tuple[int | None, str, datetime]] = {}
    first_prod: dict[tuple[str, str], Dep] = {}
    explicit: list[tuple[Dep, list[tuple[str, str]]]] = []
    inferred: list[Dep] = []
    for _item, event, entity, name, key in resolved:
        dep = deployments[event.id]
        if event.commits is None:
            if dep.status == DeploymentStatus.SUCCESS:
                inferred.append(dep)
            continue
        prod_success = dep.status == DeploymentStatus.SUCCESS and dep.environment == PRODUCTION
        entity_id = entity.pk if entity is not None else None
        pairs = []
        for commit in event.commits:
            ck = (key, commit.sha)
            pairs.append(ck)
            if ck not in wanted:
                wanted[ck] = (entity_id, name, commit.committed_at)
            if prod_success:
                cur = first_prod.get(ck)
                if cur is None or dep.finished_at < cur.finished_at:
                    first_prod[ck] = dep
        explicit.append((dep, pairs))
    if wanted:
        ids, known = _store_commits(wanted, first_prod)
        moves: list[tuple[int, Dep]] = []
        for ck, dep in first_prod.items():
            hit = known.get(ck)
            if hit is not None and (hit[1] is None or dep.finished_at < hit[1]):
                moves.append((hit[0], dep))
                # The lead time leaves the day it was counted on.
                batch.mark(ck[0], PRODUCTION, hit[1])
        _set_first_prod(moves)
        pairs_to_link = {(dep.pk, ids[ck]) for dep, pairs in explicit for ck in pairs}
        # New deployments cannot have links yet; updated ones may, so skip those pairs.
        updated = [dep.pk for dep, _ in explicit if dep.pk not in fresh_ids]
        if updated:
            pairs_to_link -= set(
                DeploymentCommit.objects.filter(deployment_id__in=updated).values_list(
                    "deployment_id", "change_id"
                )
            )
        insert_rows(
            DeploymentCommit,
            ("deployment_id", "change_id", "inferred"),
            [(d, c, False) for d, c in pairs_to_link],
            returning=False,
        )
    for dep in inferred:
        _infer_commits(batch, dep)


_CHANGE_COLUMNS = (
    "component_id",
    "component_name",
    "component_key",
    "sha",
    "committed_at",
    "first_prod_deployment_id",
    "first_prod_deployed_at",
)
_CHANGE_IN = (
    "CREATE TEMP TABLE IF NOT EXISTS metrics_change_in (component_id bigint, "
    "component_name text, component_key text, sha text, committed_at timestamptz, "
    "first_prod_deployment_id bigint, first_prod_deployed_at timestamptz) ON COMMIT DELETE ROWS"
)


def _store_commits(
    wanted: dict[tuple[str, str], tuple[int | None, str, datetime]],
    first_prod: dict[tuple[str, str], Dep],
) -> tuple[dict[tuple[str, str], int], dict[tuple[str, str], tuple[int, datetime | None]]]:
    """Insert the commits not stored yet (with their first production deployment). Returns the
    id of every commit, and (id, first_prod_deployed_at) of those that were already known."""
    rows = []
    for (key, sha), (eid, name, at) in wanted.items():
        d = first_prod.get((key, sha))
        rows.append((eid, name, key, sha, at, d.pk if d else None, d.finished_at if d else None))
    # COPY into a temporary table, then one INSERT ... ON CONFLICT DO NOTHING
    # RETURNING. A new commit then costs one descent of the (component, sha) index instead of a
    # probe plus an insert (that index outgrows the buffer cache at millions of commits); only
    # the commits that were already known are looked up afterwards.
    pg_execute(_CHANGE_IN, [])
    pg_execute("TRUNCATE metrics_change_in", [])  # savepoints do not clear it; commits do
    copy_rows("metrics_change_in", list(_CHANGE_COLUMNS), rows)
    cols = ", ".join(_CHANGE_COLUMNS)
    inserted = pg_execute(
        f"INSERT INTO metrics_change ({cols}) SELECT {cols} FROM metrics_change_in "  # noqa: S608
        "ON CONFLICT (component_key, sha) DO NOTHING RETURNING component_key, sha, id",
        [],
    )
    ids = {(k, sha): pk for k, sha, pk in inserted}
    known = _known_changes([ck for ck in wanted if ck not in ids]) if len(ids) < len(wanted) else {}
    ids.update({ck: pk for ck, (pk, _) in known.items()})
    return ids, known


def _known_changes(
    pairs: list[tuple[str, str]],
) -> dict[tuple[str, str], tuple[int, datetime | None]]:
    """(pk, first_prod_deployed_at) of changes already stored for these (component, sha) pairs,
    in one round trip."""
    if not pairs:
        return {}
    # Array parameters instead of tens of thousands of placeholders; joining the pairs gives
    # one unique-index probe each.
    rows = pg_execute(
        "SELECT c.component_key, c.sha, c.id, c.first_prod_deployed_at "
        "FROM unnest(%s::text[], %s::text[]) AS p(k, s) "
        "JOIN metrics_change c ON c.component_key = p.k AND c.sha = p.s",
        [[k for k, _ in pairs], [s for _, s in pairs]],
    )
    return {(k, s): (pk, first) for k, s, pk, first in rows}


def _set_first_prod(moves: list[tuple[int, Dep]]) -> None:
    """Point changes at an earlier first production deployment (never a later one)."""
    if not moves:
        return
    pg_execute(
        "UPDATE metrics_change c SET first_prod_deployment_id = u.dep, "
        "first_prod_deployed_at = u.fin "
        "FROM unnest(%s::bigint[], %s::bigint[], %s::timestamptz[]) AS u(id, dep, fin) "
        "WHERE c.id = u.id AND (c.first_prod_deployed_at IS NULL "
        "OR c.first_prod_deployed_at > u.fin)",
        [[m[0] for m in moves], [m[1].pk for m in moves], [m[1].finished_at for m in moves]],
    )


def _infer_commits(batch: Batch, dep: Dep) -> None:
    """No commit list: the component's known commits not yet shipped to this environment by an
    earlier successful deployment, committed no later than this deployment's commit (or start)."""
    cutoff = dep.started_at or dep.finished_at
    if dep.commit_sha:
        head = Change.objects.filter(component_key=dep.component_key, sha=dep.commit_sha).first()
        if head is not None:
            cutoff = head.committed_at
    shipped = DeploymentCommit.objects.filter(
        deployment__component_key=dep.component_key,
        deployment__environment=dep.environment,
        deployment__status=DeploymentStatus.SUCCESS,
        deployment__finished_at__lt=dep.finished_at,
    ).values("change_id")
    candidates = list(
        Change.objects.filter(component_key=dep.component_key, committed_at__lte=cutoff)
        .exclude(pk__in=shipped)
        .values_list("pk", "first_prod_deployed_at")
    )
    DeploymentCommit.objects.bulk_create(
        [
            DeploymentCommit(deployment_id=dep.pk, change_id=pk, inferred=True)
            for pk, _ in candidates
        ],
        ignore_conflicts=True,
    )
    if dep.environment == PRODUCTION:
        moves = [(pk, dep) for pk, first in candidates if first is None or dep.finished_at < first]
        for _pk, first in candidates:
            if first is not None and dep.finished_at < first:
                batch.mark(dep.component_key, PRODUCTION, first)
        _set_first_prod(moves)
