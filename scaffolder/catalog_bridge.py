"""Writing scaffolded entities into the catalog.

The catalog app owns ingestion: a new repository's catalog-info.yaml is registered as a `repo:`
location (`catalog.services.register_location` + `refresh_location`), so later pushes refresh it
like any other location. Files on a branch other than the default (which the catalog does not
read) are upserted here directly; this is the one place the scaffolder writes Entity rows.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from catalog.ingestion import REPO, Target
from catalog.models import Entity, Relation, make_ref
from catalog.services import refresh_location, register_location


def _ref_with_defaults(ref: str, default_kind: str) -> str:
    kind, sep, rest = ref.partition(":")
    if not sep:
        kind, rest = default_kind, ref
    namespace, sep, name = rest.partition("/")
    if not sep:
        namespace, name = "default", rest
    return make_ref(kind, namespace, name)


def upsert_entity(document: dict[str, Any], *, location: str) -> Entity:
    """Create or update one entity from a catalog-info document, with its ownedBy relation."""
    metadata = dict(document.get("metadata") or {})
    spec = dict(document.get("spec") or {})
    kind = str(document.get("kind") or "")
    name = str(metadata.get("name") or "")
    if not kind or not name:
        raise ValueError("a catalog entity needs kind and metadata.name")
    namespace = str(metadata.get("namespace") or "default")
    annotations = dict(metadata.get("annotations") or {})
    annotations.setdefault("backstage.io/managed-by-location", location)
    annotations.setdefault("backstage.io/managed-by-origin-location", location)
    metadata["annotations"] = annotations
    owner = str(spec.get("owner") or "")
    owner_ref = _ref_with_defaults(owner, "group") if owner else ""
    with transaction.atomic():
        entity, _ = Entity.objects.update_or_create(
            ref=make_ref(kind, namespace, name),
            defaults={
                "kind": kind,
                "namespace": namespace,
                "name": name,
                "api_version": str(document.get("apiVersion") or "backstage.io/v1alpha1"),
                "title": str(metadata.get("title") or ""),
                "description": str(metadata.get("description") or ""),
                "spec_type": str(spec.get("type") or ""),
                "lifecycle": str(spec.get("lifecycle") or ""),
                "owner_ref": owner_ref,
                "tags": list(metadata.get("tags") or []),
                "metadata": metadata,
                "spec": spec,
                "updated_at": timezone.now(),
            },
        )
        Relation.objects.filter(source=entity, type="ownedBy").exclude(
            target_ref=owner_ref
        ).delete()
        if owner_ref:
            Relation.objects.update_or_create(
                source=entity,
                type="ownedBy",
                target_ref=owner_ref,
                defaults={"target": Entity.objects.filter(ref=owner_ref).first()},
            )
    return entity


def register_repository_entities(
    *, owner: str, name: str, path: str, documents: list[dict[str, Any]], default_branch: bool
) -> list[str]:
    """Register the entities of `owner/name/path`. Returns the problems found (empty if fine)."""
    if default_branch:
        location = register_location(target=Target(REPO, f"{owner}/{name}/{path}"), actor=None)
        result = refresh_location(location=location)
        problems = list(result.errors)
        for ref, errors in result.entity_errors.items():
            problems.extend(f"{ref}: {error}" for error in errors)
        return problems
    for document in documents:
        upsert_entity(document, location=f"repo:{owner}/{name}/{path}")
    return []
