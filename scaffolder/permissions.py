"""Who may see and act on a run: the requester, members of the owning team, and platform
admins. Templates limited to some teams."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser, User

from catalog.models import Entity
from catalog.services import group_refs_for_user
from scaffolder.models import Run


def can_view_run(user: User | AnonymousUser, run: Run) -> bool:
    """The requester (even after leaving the team), members of the owning team and platform
    admins; the same rule as Run.objects.visible_to, for a run already loaded. Everyone else
    is told the run does not exist (404), so its existence is not confirmed either."""
    if not user.is_authenticated:
        return False
    if getattr(user, "is_staff", False):
        return True
    if run.requested_by_id is not None and run.requested_by_id == user.pk:
        return True
    return bool(run.owner_ref) and run.owner_ref in group_refs_for_user(user)


def can_manage_run(user: User | AnonymousUser, run: Run) -> bool:
    """Cancelling and retrying need the same standing as seeing the run."""
    return can_view_run(user, run)


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
