"""Who may read a local repository, and who may merge its pull requests.

The owners of a repository are the members of its team and platform admins. Its team is the
owner segment of its name (`team-orders/orders-api`, as a GitHub organisation would be) or the
team given when it was created (the publish step's `access`). Owners may merge; a repository
created private (`repoVisibility: private`, the default) is readable only by its owners, and any
signed-in person may read the others.

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


def is_owner(user: User | AnonymousUser, repo: RepoRef, team: str = "") -> bool:
    """A platform admin, or a member of the repository's owner segment or of `team` (the one
    given when the repository was created)."""
    if not user.is_authenticated or not isinstance(user, User):
        return False
    if user.is_staff:
        return True
    if _team_check is None:
        return False
    return any(_team_check(user, name) for name in {repo.owner, team} if name)


def can_merge(user: User | AnonymousUser, repo: RepoRef, team: str = "") -> bool:
    return is_owner(user, repo, team)


def can_read(user: User | AnonymousUser, repo: RepoRef, *, private: bool, team: str = "") -> bool:
    """Private: its owners only. Otherwise: anyone signed in."""
    if private:
        return is_owner(user, repo, team)
    return bool(user.is_authenticated)


def merge_denied_reason(repo: RepoRef) -> str:
    return f"Only members of {repo.owner} or a platform admin may merge into {repo.full_name}."
