"""Demo organisation for `make run`: teams, people (with portal accounts) and services."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from django.contrib.auth import get_user_model

from catalog.models import Entity, Relation, make_ref
from portal.demo import DEMO_PASSWORD

ORG_FILE = Path(__file__).with_name("org.yaml")
STAFF = {"alice", "bob"}

_REF_FIELDS = {
    "owner": ("ownedBy", "group"),
    "system": ("partOf", "system"),
    "domain": ("partOf", "domain"),
    "parent": ("childOf", "group"),
}
_REF_LISTS = {
    "memberOf": ("memberOf", "group"),
    "providesApis": ("providesApi", "api"),
    "consumesApis": ("consumesApi", "api"),
    "dependsOn": ("dependsOn", "component"),
}


def _target(ref: str, default_kind: str) -> str:
    kind, _, rest = ref.rpartition(":") if ":" in ref else (default_kind, "", ref)
    namespace, _, name = rest.rpartition("/") if "/" in rest else ("default", "", rest)
    return make_ref(kind or default_kind, namespace or "default", name)


def _upsert(doc: dict[str, Any]) -> Entity:
    meta, spec = doc["metadata"], doc.get("spec", {})
    entity, _ = Entity.objects.update_or_create(
        ref=make_ref(doc["kind"], meta.get("namespace", "default"), meta["name"]),
        defaults={
            "kind": doc["kind"],
            "namespace": meta.get("namespace", "default"),
            "name": meta["name"],
            "api_version": doc["apiVersion"],
            "title": meta.get("title", ""),
            "description": meta.get("description", ""),
            "spec_type": spec.get("type", ""),
            "lifecycle": spec.get("lifecycle", ""),
            "owner_ref": _target(spec["owner"], "group") if spec.get("owner") else "",
            "tags": meta.get("tags", []),
            "metadata": meta,
            "spec": spec,
        },
    )
    return entity


def load_demo_catalog() -> str:
    docs = [d for d in yaml.safe_load_all(ORG_FILE.read_text()) if d]
    entities = [(_upsert(doc), doc.get("spec", {})) for doc in docs]
    by_ref = {e.ref: e for e, _ in entities}
    for entity, spec in entities:
        pairs = [
            (rel, _target(spec[field], kind))
            for field, (rel, kind) in _REF_FIELDS.items()
            if spec.get(field)
        ]
        pairs += [
            (rel, _target(item, kind))
            for field, (rel, kind) in _REF_LISTS.items()
            for item in spec.get(field) or []
        ]
        for rel, target in pairs:
            Relation.objects.update_or_create(
                source=entity, type=rel, target_ref=target, defaults={"target": by_ref.get(target)}
            )
    users = _load_accounts(docs)
    return f"{len(entities)} entities, {users} accounts (password {DEMO_PASSWORD!r})"


def _load_accounts(docs: list[dict[str, Any]]) -> int:
    user_model = get_user_model()
    count = 0
    for doc in docs:
        if doc["kind"] != "User":
            continue
        name = doc["metadata"]["name"]
        profile = doc["spec"].get("profile", {})
        first, _, last = profile.get("displayName", name).partition(" ")
        user, created = user_model.objects.get_or_create(
            username=name,
            defaults={
                "email": profile.get("email", ""),
                "first_name": first,
                "last_name": last,
                "is_staff": name in STAFF,
                "is_superuser": name in STAFF,
            },
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save()
        Entity.objects.filter(ref=make_ref("User", "default", name), user__isnull=True).update(
            user=user
        )
        count += 1
    return count
