"""Who may use a template: published ones, within the teams they are limited to. (Who may see
a run is runs/permissions.py.)"""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser, User

from catalog.models import Entity, Location
from catalog.queries import group_refs_for_user
from portal.annotations import ALLOWED_GROUPS
from scaffolder.models import TemplatePublication

# Platform admins limit a template to some teams with this annotation on the Template entity:
#   metadata.annotations["paved.dev/allowed-groups"]: "team-orders, group:default/platform-team"
ALLOWED_GROUPS_ANNOTATION = ALLOWED_GROUPS


def template_allowed_groups(entity: Entity) -> set[str] | None:
    """The group refs a template is limited to, or None when everyone may use it."""
    annotations = (entity.metadata or {}).get("annotations") or {}
    raw = str(annotations.get(ALLOWED_GROUPS_ANNOTATION, "")).strip()
    if not raw:
        return None
    refs = set()
    for item in raw.split(","):
        name = item.strip().lower()
        if name:
            refs.add(name if ":" in name else f"group:default/{name}")
    return refs


def is_published(entity: Entity) -> bool:
    """Offered to everyone: saved in Paved by the platform team, or from a catalog location a
    platform admin registered or approved. Reads `_published` when the list query annotated
    it, so a list of templates costs no query per row."""
    if entity.location_id is not None:
        approved = getattr(entity, "_location_approved", None)
        if approved is None:
            approved = Location.objects.filter(
                pk=entity.location_id, approved_at__isnull=False
            ).exists()
        return bool(approved)
    published = getattr(entity, "_published", None)
    if published is None:
        published = TemplatePublication.objects.filter(entity_id=entity.pk).exists()
    return bool(published)


def _registered_by(entity: Entity) -> int | None:
    registrant = getattr(entity, "_registered_by", None)
    if registrant is None and entity.location_id is not None:
        registrant = (
            Location.objects.filter(pk=entity.location_id)
            .values_list("created_by_id", flat=True)
            .first()
        )
    return registrant


def can_use_template(user: User | AnonymousUser, entity: Entity) -> bool:
    """Published templates, within their allowed groups; a template waiting for approval only
    for the person who registered its location (to try it), never for anyone else — not even
    a platform admin, who would type secrets into a stranger's form."""
    if not user.is_authenticated:
        return False
    if not is_published(entity):
        return entity.location_id is not None and _registered_by(entity) == user.pk
    allowed = template_allowed_groups(entity)
    if allowed is None or getattr(user, "is_staff", False):
        return True
    return bool(allowed & group_refs_for_user(user))


def unusable_reason(user: User | AnonymousUser, entity: Entity) -> str:
    if not is_published(entity):
        return (
            f"{entity.ref} waits for a platform admin to approve its catalog location; until "
            "then only the person who registered it may run it"
        )
    groups = ", ".join(sorted(template_allowed_groups(entity) or ()))
    return f"{entity.ref} is limited to {groups}; {user.get_username()} is in none of them"
