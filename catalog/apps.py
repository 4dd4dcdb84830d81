from __future__ import annotations

from typing import TYPE_CHECKING

from django.apps import AppConfig

if TYPE_CHECKING:
    from django.contrib.auth.models import User


class CatalogConfig(AppConfig):
    name = "catalog"
    verbose_name = "Software catalog"

    def ready(self) -> None:
        from catalog import signals, tasks  # noqa: F401
        from catalog.demo import load_demo_catalog
        from catalog.home import register
        from portal.demo import register_demo_loader
        from portal.providers.local_git.access import register_team_check

        register_demo_loader("catalog", 10, load_demo_catalog)
        register()
        register_team_check(_is_member)


def _is_member(user: User, team: str) -> bool:
    """Local pull requests: may this user merge into the repositories of `team`?"""
    from catalog.queries import group_refs_for_user

    ref = team.lower() if ":" in team else f"group:default/{team.lower()}"
    return ref in group_refs_for_user(user)
