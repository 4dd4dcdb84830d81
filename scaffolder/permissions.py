"""Who may act on a run: the requester, members of the owning team, and platform admins."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser, User

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
