"""Who may act on a run: the requester, members of the owning team, and platform admins."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser, User

from catalog.models import Entity
from catalog.services import group_refs_for_user
from scaffolder.models import Run


def can_manage_run(user: User | AnonymousUser, run: Run) -> bool:
    if not user.is_authenticated:
        return False
    if getattr(user, "is_staff", False):
        return True
    if run.requested_by_id is not None and run.requested_by_id == user.pk:
        return True
    return bool(run.owner_ref) and run.owner_ref in group_refs_for_user(user)


def manage_denied_reason(user: User | AnonymousUser, run: Run) -> str:
    owner = run.owner_ref or "its requester"
    return f"Only {owner}, the person who started it, or a platform admin may change this run."


# Platform admins limit a template to some teams with this annotation on the Template entity:
#   metadata.annotations["paved.dev/allowed-groups"]: "team-orders, group:default/platform-team"
ALLOWED_GROUPS_ANNOTATION = "paved.dev/allowed-groups"


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


def can_use_template(user: User | AnonymousUser, entity: Entity) -> bool:
    if not user.is_authenticated:
        return False
    allowed = template_allowed_groups(entity)
    if allowed is None or getattr(user, "is_staff", False):
        return True
    return bool(allowed & group_refs_for_user(user))
