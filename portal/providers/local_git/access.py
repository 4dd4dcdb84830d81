"""Who may merge a local pull request: platform admins and members of the repository's team.

Team membership lives in the catalog, which portal may not import; the catalog registers the
check at start-up (`register_team_check`), as higher apps register everything else.
"""

from __future__ import annotations

from collections.abc import Callable

from django.contrib.auth.models import AnonymousUser, User

from portal.providers.base import RepoRef

TeamCheck = Callable[[User, str], bool]  # (user, team name) -> is a member
_team_check: TeamCheck | None = None


def register_team_check(check: TeamCheck) -> None:
    global _team_check
    _team_check = check


def can_merge(user: User | AnonymousUser, repo: RepoRef, team: str = "") -> bool:
    """The repository's owner segment is its team (`team-orders/orders-api`), as a GitHub
    organisation would be; `team` is the one given when the repository was created."""
    if not user.is_authenticated or not isinstance(user, User):
        return False
    if user.is_staff:
        return True
    if _team_check is None:
        return False
    return any(_team_check(user, name) for name in {repo.owner, team} if name)


def merge_denied_reason(repo: RepoRef) -> str:
    return f"Only members of {repo.owner} or a platform admin may merge into {repo.full_name}."
