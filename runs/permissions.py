"""Who may see and act on a run: the requester, members of the owning team, and platform
admins."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser, User

from catalog.queries import group_refs_for_user
from runs.models import Run


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
