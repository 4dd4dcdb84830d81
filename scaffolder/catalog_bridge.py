"""Writing scaffolded entities into the catalog.

The catalog app owns ingestion: a new repository's catalog-info.yaml is registered as a `repo:`
location (`catalog.services.register_location` + `refresh_location`), so later pushes refresh it
like any other location — on a branch other than the default too (`owner/name/path#branch`).
The scaffolder never writes Entity rows itself: every write goes through the catalog's checks
(validation, a location never adopts what it did not create, annotations only Paved writes).
"""

from __future__ import annotations

from django.contrib.auth.models import User

from catalog.ingestion import REPO, Target
from catalog.services import refresh_location, register_location


def location_target(*, owner: str, name: str, path: str, branch: str, default_branch: bool) -> str:
    """The `repo:` location a catalog-info.yaml is registered as."""
    return f"{owner}/{name}/{path}" if default_branch else f"{owner}/{name}/{path}#{branch}"


def register_repository_entities(
    *, owner: str, name: str, path: str, branch: str, default_branch: bool, actor: User | None
) -> list[str]:
    """Register the entities of `owner/name/path` (at `branch`). Returns the problems found."""
    where = location_target(
        owner=owner, name=name, path=path, branch=branch, default_branch=default_branch
    )
    location = register_location(target=Target(REPO, where), actor=actor)
    result = refresh_location(location=location)
    problems = list(result.errors)
    for ref, errors in result.entity_errors.items():
        problems.extend(f"{ref}: {error}" for error in errors)
    return problems
