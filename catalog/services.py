"""Catalog use cases that other apps rely on: who a user is in the catalog, and their teams."""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import PermissionDenied
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from catalog.ingestion import FILE, REPO, URL, ReadResult, Target, read_location
from catalog.kinds import extra_kind_schemas
from catalog.models import Entity, Location, Relation
from catalog.validation import RelationRow, derive_relations
from portal import audit
from portal.lib.bulk import copy_rows

logger = logging.getLogger(__name__)


def verified_emails(user: User) -> set[str]:
    """The addresses the sign-in provider (or a platform admin) has verified for this account,
    lower case. An address someone merely typed in, or a username, proves nothing."""
    from allauth.account.models import EmailAddress

    return {
        e.strip().lower()
        for e in EmailAddress.objects.filter(user=user, verified=True).values_list(
            "email", flat=True
        )
        if e and "@" in e
    }


def link_user_to_catalog(user: User) -> Entity | None:
    """Attach a portal account to the catalog User whose `spec.profile.email` is exactly one of
    the account's verified addresses (the whole address, case-insensitively), once.

    Nothing else links: not the username, not the part before the '@', not an unverified
    address. Those are names anyone can pick, and the link decides whose teams a person acts
    for. Without a match the person is signed in but belongs to no team (the home page says so).
    """
    existing = Entity.objects.filter(kind__iexact="user", user=user).first()
    if existing is not None:
        return existing
    emails = verified_emails(user)
    if not emails:
        return None
    match = Q()
    for email in emails:
        match |= Q(spec__profile__email__iexact=email)
    candidates = list(
        Entity.objects.filter(kind__iexact="user", user__isnull=True)
        .filter(match)
        .order_by("id")[:2]
    )
    if len(candidates) != 1:
        if candidates:
            # Two catalog people with one address: guessing would hand one the other's teams.
            logger.warning(
                "not linking account %s: several catalog users have its e-mail address",
                user.get_username(),
            )
        return None
    chosen = candidates[0]
    # Only if still unlinked: two first sign-ins at once cannot both take it.
    if not Entity.objects.filter(pk=chosen.pk, user__isnull=True).update(user=user):
        return None
    chosen.user = user
    logger.info("linked account %s to catalog entity %s", user.get_username(), chosen.ref)
    return chosen


def catalog_identity_notice(user: User | AnonymousUser) -> str:
    """What the home page says to a signed-in person the catalog does not know."""
    if not user.is_authenticated or not isinstance(user, User):
        return ""
    if Entity.objects.filter(kind__iexact="user", user=user).exists():
        return ""
    emails = sorted(verified_emails(user))
    if emails:
        shown = ", ".join(emails)
        return (
            f"Your account is not linked to a person in the catalog: no catalog User has "
            f"spec.profile.email set to {shown}. Until one does, Paved does not know your teams, "
            "so you cannot act for any team. Ask your platform team to add or fix your User "
            "entity."
        )
    return (
        "Your account is not linked to a person in the catalog, because its e-mail address is "
        "not verified. Until it is, Paved does not know your teams, so you cannot act for any "
        "team. Ask your platform team to verify your address."
    )


# --- Locations and ingestion ----------------------------------------------------------------------

_CHUNK = 1000


def _chunks(items: list[Any], size: int = _CHUNK) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


@dataclass
class IngestResult:
    """What one refresh of a location did (printed by `catalog import`, shown in admin)."""

    location: str
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    invalid: int = 0
    orphaned: int = 0
    errors: list[str] = field(default_factory=list)
    entity_errors: dict[str, list[str]] = field(default_factory=dict)
    seconds: float = 0.0


def parse_location_input(text: str) -> Target:
    """Turn what a person typed into a location: `url:`/`file:`/`repo:` prefixes, an http(s)
    URL, an existing file path, or `owner/name` on the configured git host."""
    raw = text.strip()
    if not raw:
        raise ValueError("Enter a URL, a file path, or owner/name of a repository.")
    for prefix in (FILE, URL, REPO):
        if raw.startswith(f"{prefix}:") and not raw.startswith(("http:", "https:")):
            value = raw[len(prefix) + 1 :].strip()
            if prefix == FILE:
                value = str(Path(value).resolve())
            return Target(prefix, value)
    if raw.startswith(("http://", "https://")):
        return Target(URL, raw)
    path = Path(raw)
    if path.exists():
        return Target(FILE, str(path.resolve()))
    if _REPO_RE.fullmatch(raw):
        return Target(REPO, raw)
    raise ValueError(
        f"{raw!r} is not an http(s) URL, an existing file, or owner/name of a repository "
        "(prefix with url:, file: or repo: to be explicit)."
    )


_REPO_RE = re.compile(r"[\w.-]+/[\w.-]+(/[\w./-]+)?")


def preview_location(*, target: Target, actor: User | None = None) -> ReadResult:
    """Read a location without writing anything: the Register page shows this before confirm."""
    reader = actor if actor is not None and actor.is_authenticated else None
    return read_location(target, extra_kinds=extra_kind_schemas(), reader=reader)


class LocationRefused(ValueError):
    """A location that needs a URL Paved may not fetch; nothing of it is registered."""


def location_target(type_: str, target: str) -> Target:
    """A `{type, target}` pair as the API sends it (Backstage's location input)."""
    if type_ not in (FILE, URL, REPO):
        raise ValueError(f"unknown location type {type_[:30]!r}; use url, repo or file")
    value = target.strip()
    if not value or "\x00" in value:
        raise ValueError("the location target must be a non-empty text")
    if type_ == URL and not value.startswith(("http://", "https://")):
        raise ValueError(f"{value[:200]!r} is not an http(s) URL")
    if type_ == REPO and not _REPO_RE.fullmatch(value.partition("#")[0]):
        raise ValueError(f"{value[:200]!r} is not owner/name[/path] of a repository")
    return parse_location_input(f"{type_}:{value}")


def registration_refusal(*, target: Target, actor: User | None) -> str:
    """Why `actor` may not register `target` at all ("" when they may): files on the portal
    server are the platform team's alone."""
    if target.type == FILE and actor is not None and not actor.is_staff:
        return (
            "Only platform admins may register files on the portal server; "
            "paste a URL or owner/name of a repository."
        )
    return ""


def register_and_refresh(
    *, target: Target, actor: User | None, read: ReadResult | None = None
) -> tuple[Location, IngestResult]:
    """The Register page's confirm: read once, refuse the whole location if any URL it needs
    is not one Paved may fetch from, else register it and store what was read. `read` is a
    fresh read of `target` for `actor` (a preview just made), so it is not fetched twice."""
    if read is None:
        read = preview_location(target=target, actor=actor)
    if read.refused:
        raise LocationRefused(read.refused[0])
    location = register_location(target=target, actor=actor)
    return location, refresh_location(location=location, read=read)


def register_location(*, target: Target, actor: User | None) -> Location:
    """Create (or find) the Location row; ingestion is a separate step (refresh_location)."""
    person = actor if actor and actor.is_authenticated else None
    # The command line (no person) and platform admins are the platform team: what they
    # register may publish Templates at once. A developer's location waits for approval.
    trusted = person is None or person.is_staff
    location, created = Location.objects.get_or_create(
        type=target.type,
        target=target.target,
        defaults={
            "created_by": person,
            "approved_by": person if trusted else None,
            "approved_at": timezone.now() if trusted else None,
        },
    )
    if created:
        logger.info("registered catalog location %s", location)
        audit.record(
            actor=actor if actor and actor.is_authenticated else None,
            action="catalog.location.registered",
            target=location,
            after={"type": target.type, "target": target.target},
        )
    return location


def may_manage_location(user: User, location: Location) -> bool:
    """Refreshing or deleting a location: platform admins, and whoever registered it."""
    return user.is_staff or (
        location.created_by_id is not None and location.created_by_id == user.pk
    )


def delete_location(*, location: Location, actor: User) -> int:
    """Unregister a location and delete the entities it provided, as Backstage does — for
    platform admins and the person who registered it."""
    if not may_manage_location(actor, location):
        raise PermissionDenied(
            "Only platform admins and the person who registered a location may delete it."
        )
    return remove_location(location=location, actor=actor)


def remove_location(*, location: Location, actor: User | None) -> int:
    """Remove a location and the entities it provided; the caller has decided who may (the API
    above, Django admin, the undo of the run that registered it). Entities are deleted rather
    than left behind: one without a location reads as saved in Paved by the platform team,
    which a developer's location must never become."""
    with transaction.atomic():
        locked = Location.objects.select_for_update().filter(pk=location.pk).first()
        if locked is None:
            return 0
        refs = list(Entity.objects.filter(location=locked).values_list("ref", flat=True))
        Entity.objects.filter(location=locked).delete()
        audit.record(
            actor=actor if actor is not None and actor.is_authenticated else None,
            action="catalog.location.deleted",
            target=locked,
            before={"type": locked.type, "target": locked.target, "entities": refs},
        )
        locked.delete()
    logger.info("deleted catalog location %s and its %d entities", location, len(refs))
    return len(refs)


def refresh_entity(*, entity: Entity, actor: User) -> IngestResult | None:
    """Re-read the location an entity came from, now. None for an entity saved in Paved (there
    is nothing to re-read)."""
    location = entity.location
    if location is None:
        return None
    if not may_manage_location(actor, location):
        raise PermissionDenied(
            "Only platform admins and the person who registered its location may refresh "
            f"{entity.ref}."
        )
    return refresh_location(location=location)


def approve_location(*, location: Location, actor: User) -> None:
    """A platform admin lets this location's Templates be offered to everyone."""
    if not actor.is_staff:
        raise PermissionDenied("Only platform admins may approve a location's templates.")
    if location.approved_at is not None:
        return
    Location.objects.filter(pk=location.pk).update(approved_by=actor, approved_at=timezone.now())
    location.refresh_from_db(fields=["approved_by", "approved_at"])
    audit.record(actor=actor, action="catalog.location.approved", target=location)


def import_locations(*, targets: list[str], actor: User | None) -> list[IngestResult]:
    """Register each target and ingest it now (the `catalog import` command)."""
    parsed = [parse_location_input(t) for t in targets]
    return [refresh_location(location=register_location(target=t, actor=actor)) for t in parsed]


def refresh_location(*, location: Location, read: ReadResult | None = None) -> IngestResult:
    """Re-read a location and store what it yields, in bulk.

    New entities are created, changed ones updated (unchanged ones are skipped by etag), invalid
    documents get their errors stored on the entity (keeping its last good data), entities the
    location no longer yields are marked orphaned, and relations are rebuilt in both directions.
    `read` is a fresh read of this location (the Register page's), so it is not fetched twice.
    """
    started = time.monotonic()
    result = IngestResult(location=str(location))
    if read is None:
        read = read_location(
            Target(location.type, location.target), extra_kinds=extra_kind_schemas(),
            reader=location.created_by,
        )  # fmt: skip
    result.errors = list(read.errors)
    now = timezone.now()
    writes = _plan_writes(location, read, now, result)
    with transaction.atomic():
        insert_entities(writes.to_create)
        if writes.to_update:
            Entity.objects.bulk_update(writes.to_update, _UPDATE_FIELDS, batch_size=500)
        if writes.errors_only:
            Entity.objects.bulk_update(
                writes.errors_only, ["processing_errors", "location", "orphaned_at"],
                batch_size=500,
            )  # fmt: skip
        result.orphaned = _mark_orphans(location, read, now)
        changed_refs = [e["ref"] for e in writes.to_create if not e["processing_errors"]]
        changed_refs += [e.ref for e in writes.to_update]
        rebuild_relations(refs=changed_refs, new_refs=[e["ref"] for e in writes.to_create])
        location.last_refreshed_at = now
        location.errors = result.errors
        location.entity_count = len(read.entities)
        location.save(update_fields=["last_refreshed_at", "errors", "entity_count"])
    if result.added + result.updated >= ANALYZE_AFTER_ROWS:
        _refresh_statistics()
    result.seconds = time.monotonic() - started
    logger.info(
        "refreshed %s: +%d ~%d =%d invalid %d orphaned %d in %.2fs",
        location, result.added, result.updated, result.unchanged, result.invalid,
        result.orphaned, result.seconds,
    )  # fmt: skip
    return result


@dataclass
class _Writes:
    """What one refresh writes: rows to COPY, entities to update, entities that only get errors."""

    to_create: list[dict[str, Any]] = field(default_factory=list)
    to_update: list[Entity] = field(default_factory=list)
    errors_only: list[Entity] = field(default_factory=list)


def _plan_writes(
    location: Location, read: ReadResult, now: datetime, result: IngestResult
) -> _Writes:
    """Sort what the location yields into new, changed, unchanged and invalid entities (counted
    in `result`), without writing anything."""
    existing: dict[str, Entity] = {}
    for chunk in _chunks(list(read.entities)):
        for entity in Entity.objects.filter(ref__in=chunk).only(
            "id", "ref", "etag", "location_id", "processing_errors", "orphaned_at"
        ):
            existing[entity.ref] = entity
    writes = _Writes()
    for ref, processed in read.entities.items():
        current = existing.get(ref)
        if current is not None and current.location_id != location.pk:
            result.errors.append(_not_ours(ref, current))
            continue
        if processed.errors:
            result.invalid += 1
            result.entity_errors[ref] = processed.errors
            if current is not None:
                current.processing_errors = processed.errors
                current.location_id = location.pk
                current.orphaned_at = None
                writes.errors_only.append(current)
            else:
                fields = processed.fields()
                fields.update(spec={}, metadata={"name": processed.name})
                writes.to_create.append(_new_entity(fields, location, "", processed.errors, now))
            continue
        etag = processed.etag
        if current is None:
            writes.to_create.append(_new_entity(processed.fields(), location, etag, [], now))
            result.added += 1
        elif (
            current.etag == etag
            and not current.processing_errors
            and current.location_id == location.pk
            and current.orphaned_at is None
        ):
            result.unchanged += 1
        else:
            for key, value in processed.fields().items():
                setattr(current, key, value)
            current.etag, current.processing_errors = etag, []
            current.location_id, current.orphaned_at, current.updated_at = location.pk, None, now
            writes.to_update.append(current)
            result.updated += 1
    return writes


def _not_ours(ref: str, current: Entity) -> str:
    # A location never adopts what it did not create: not another location's entity, and not
    # one a platform admin saved in Paved (no location at all).
    if current.location_id is not None:
        return (
            f"{ref} is already provided by another location (#{current.location_id}); skipped here"
        )
    return (
        f"{ref} is managed in Paved by the platform team; a location cannot replace it "
        "(choose another name)"
    )


def _new_entity(
    fields: dict[str, Any], location: Location, etag: str, errors: list[str], now: datetime
) -> dict[str, Any]:
    return {
        **fields,
        "location_id": location.pk,
        "etag": etag,
        "processing_errors": errors,
        "created_at": now,
        "updated_at": now,
    }


_UPDATE_FIELDS = [
    "kind", "namespace", "name", "api_version", "title", "description", "spec_type",
    "lifecycle", "owner_ref", "tags", "metadata", "spec", "source", "search_text", "etag",
    "processing_errors", "processing_warnings", "location", "orphaned_at", "updated_at",
]  # fmt: skip


def _mark_orphans(location: Location, read: ReadResult, now: datetime) -> int:
    """Entities of this location it no longer yields get `orphaned_at` (not for files that
    failed to read: a broken file must not orphan what it defined)."""
    gone = [
        pk
        for pk, ref, source in Entity.objects.filter(
            location=location, orphaned_at__isnull=True
        ).values_list("id", "ref", "source")
        if ref not in read.entities and source not in read.failed_sources
    ]
    for chunk in _chunks(gone):
        Entity.objects.filter(id__in=chunk).update(orphaned_at=now)
    return len(gone)


def rebuild_relations(*, refs: list[str], new_refs: list[str] = ()) -> int:  # type: ignore[assignment]
    """Recompute the relation rows originated by `refs` (both directions).

    Entities that pointed at any of `new_refs` before they existed are rebuilt too, so their
    reverse rows (which need the new entity as source) appear and their targets resolve."""
    origins: dict[str, int] = {}
    for chunk in _chunks(list(refs)):
        origins.update(Entity.objects.filter(ref__in=chunk).values_list("ref", "id"))
    for chunk in _chunks(list(new_refs)):
        for ref, pk in (
            Relation.objects.filter(target_ref__in=chunk, origin__isnull=False)
            .values_list("origin__ref", "origin_id")
            .distinct()
        ):
            origins[ref] = pk
    if not origins:
        return 0
    rows: list[tuple[int, RelationRow]] = []
    ids = list(origins.values())
    for chunk in _chunks(ids):
        for pk, kind, namespace, metadata, spec in Entity.objects.filter(
            id__in=chunk, processing_errors=[]
        ).values_list("id", "kind", "namespace", "metadata", "spec"):
            doc = {"kind": kind, "metadata": {**metadata, "namespace": namespace}, "spec": spec}
            derived, _ = derive_relations(doc)
            rows.extend((pk, row) for row in derived)
    needed = {r.source for _, r in rows} | {r.target for _, r in rows}
    id_by_ref: dict[str, int] = {}
    for chunk in _chunks(list(needed)):
        id_by_ref.update(Entity.objects.filter(ref__in=chunk).values_list("ref", "id"))
    for chunk in _chunks(ids):
        Relation.objects.filter(origin_id__in=chunk).delete()
    objs = [
        Relation(
            source_id=id_by_ref[row.source],
            type=row.type,
            target_ref=row.target,
            target_id=id_by_ref.get(row.target),
            origin_id=origin,
        )
        for origin, row in rows
        if row.source in id_by_ref
    ]
    insert_relations(objs)
    return len(objs)


# Bulk writes go through COPY (portal.lib.bulk): several times faster than INSERT for the
# 10,000-entity / 60,000-relation catalogs we aim at.
_ENTITY_COLUMNS = [
    "kind", "namespace", "name", "ref", "api_version", "title", "description", "spec_type",
    "lifecycle", "owner_ref", "tags", "metadata", "spec", "source", "search_text", "etag",
    "processing_errors", "processing_warnings", "location_id", "created_at", "updated_at",
]  # fmt: skip
_JSON_COLUMNS = {"tags", "metadata", "spec", "processing_errors", "processing_warnings"}


# After a large import the planner's statistics describe the old catalog until autovacuum
# comes round (a minute or more), and a plan made for 50 components may read thousands.
ANALYZE_AFTER_ROWS = 1000


def _refresh_statistics() -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {Entity._meta.db_table}, {Relation._meta.db_table}")


def insert_entities(rows: list[dict[str, Any]]) -> None:
    copy_rows(
        Entity._meta.db_table,
        _ENTITY_COLUMNS,
        ([json.dumps(row[c]) if c in _JSON_COLUMNS else row[c] for c in _ENTITY_COLUMNS]
         for row in rows),
    )  # fmt: skip


def insert_relations(objs: list[Relation]) -> None:
    """Insert relation rows, skipping ones that already exist (another origin emitted them)."""
    if not objs:
        return
    table = Relation._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMP TABLE IF NOT EXISTS catalog_relation_load (source_id bigint, "
            "type varchar(50), target_ref varchar(400), target_id bigint, origin_id bigint)"
        )
        cursor.execute("TRUNCATE catalog_relation_load")
        copy_rows(
            "catalog_relation_load",
            ["source_id", "type", "target_ref", "target_id", "origin_id"],
            ((r.source_id, r.type, r.target_ref, r.target_id, r.origin_id) for r in objs),
        )
        cursor.execute(
            f"INSERT INTO {table} (source_id, type, target_ref, target_id, origin_id) "  # noqa: S608
            "SELECT DISTINCT ON (source_id, type, target_ref, origin_id) source_id, type, "
            "target_ref, target_id, origin_id FROM catalog_relation_load "
            "ON CONFLICT (source_id, type, target_ref, origin_id) DO NOTHING"
        )


def delete_orphans(*, grace: timedelta | None = None) -> int:
    """Delete entities orphaned longer than the grace period (PAVED_CATALOG_ORPHAN_GRACE_HOURS)."""
    if grace is None:
        grace = timedelta(hours=float(getattr(settings, "PAVED_CATALOG_ORPHAN_GRACE_HOURS", 72)))
    cutoff = timezone.now() - grace
    deleted, _ = Entity.objects.filter(orphaned_at__lt=cutoff).delete()
    return deleted


def refresh_all_locations() -> list[IngestResult]:
    """Refresh every location; one failing location never stops the others."""
    results = []
    for location in Location.objects.order_by("id"):
        try:
            results.append(refresh_location(location=location))
        except Exception as exc:  # recorded on the location, then go on
            logger.exception("refreshing %s failed", location)
            Location.objects.filter(pk=location.pk).update(
                errors=[f"refresh failed: {exc.__class__.__name__}: {exc}"]
            )
    return results


def locations_for_repository(full_name: str) -> list[Location]:
    """Repository locations of `owner/name` (for the push webhook)."""
    full_name = full_name.strip("/")
    return [
        loc
        for loc in Location.objects.filter(type=Location.Type.REPO, target__startswith=full_name)
        if "/".join(loc.target.split("/")[:2]) == full_name
    ]
