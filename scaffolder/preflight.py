"""Before a run starts: is every name it would create still free?

A template run that fails at its last step ("… already provided by another location") after it
created a repository, a namespace and an Argo CD application leaves a half-made service. So the
wizard asks first: the run is tried as a dry run (its inputs resolved, its skeleton rendered in a
throw-away folder), and every repository, namespace, application and catalog entity it would
create is looked up. A taken name is reported in plain words, naming what is in the way.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import yaml
from django.contrib.auth.models import User

from catalog.models import Entity, make_ref
from portal.providers import cluster, deployer, git_host_named
from portal.providers.base import ProviderError
from runs.authority import APPLICATION, NAMESPACE, REPOSITORY, Write, record_for
from runs.registry import EACH_KEY, OUTSIDE, get_step_kind
from scaffolder.dry_run import dry_run
from scaffolder.loader import Template

# Parameters that name the new service, checked as the person types.
NAME_FIELDS = ("name", "component_id", "componentName")


def name_taken_message(value: str) -> str | None:
    """The quick check behind the wizard's name field: a component of that name exists."""
    value = value.strip().lower()
    if not value:
        return None
    found = (
        Entity.objects.filter(kind__iexact="component", namespace="default", name=value)
        .only("owner_ref", "title", "name")
        .first()
    )
    if found is None:
        return None
    owner = found.owner_ref.rsplit("/", 1)[-1] if found.owner_ref else "another team"
    return f"A service named {value} already exists in the catalog (owned by {owner}); choose another name."


def names_taken(template: Template, values: dict[str, Any], actor: User | None) -> list[str]:
    """One sentence for each thing the run would create that already exists (empty: all free).
    A template whose dry run fails is not judged here: the run explains its own failure."""
    from scaffolder.services import user_context  # services starts runs; this module is its helper

    with tempfile.TemporaryDirectory(prefix="paved-preflight-") as folder:
        result = dry_run(template, values, workspace=Path(folder), user=user_context(actor))
    if result.status != "completed":
        return []
    problems: list[str] = []
    for row in result.steps:
        if row.get("status") != "completed":
            continue
        kind = get_step_kind(row["action"])
        if kind.writes != OUTSIDE or kind.internal:
            continue
        items = row["input"].get(EACH_KEY) or [row["input"]]
        for inputs in items:
            for write in kind.write_targets(inputs, None):  # type: ignore[arg-type]
                message = _taken(write)
                if message and message not in problems:
                    problems.append(message)
    for path, data in result.files.items():
        if path.rsplit("/", 1)[-1] == "catalog-info.yaml":
            problems.extend(m for m in _entities_taken(data) if m not in problems)
    return problems


def _taken(write: Write) -> str | None:
    try:
        if write.what == REPOSITORY:
            owner, _, name = write.name.rpartition("/")
            if git_host_named(write.host).get_repository(owner, name) is not None:
                return f"The repository {write.name} already exists; choose another name."
        elif write.what == NAMESPACE:
            key = f"{write.environment}/{write.name}"
            exists = (
                record_for(NAMESPACE, key) is not None
                or cluster()
                .read_status("v1", "Namespace", "", write.name, environment=write.environment)
                .exists
            )
            if exists:
                return (
                    f"The namespace {write.name} ({write.environment}) already exists; "
                    "choose another name."
                )
        elif write.what == APPLICATION:
            key = f"{write.environment}/{write.name}"
            status = deployer().application_status(write.name, environment=write.environment)
            if record_for(APPLICATION, key) is not None or status.health != "Missing":
                return (
                    f"The Argo CD application {write.name} ({write.environment}) already exists; "
                    "choose another name."
                )
    except ProviderError:
        return None  # cannot tell now; the run's own step decides
    return None


def _entities_taken(data: bytes) -> list[str]:
    try:
        documents = [d for d in yaml.safe_load_all(data) if isinstance(d, dict)]
    except yaml.YAMLError:
        return []
    refs = []
    for document in documents:
        metadata = document.get("metadata") or {}
        if not isinstance(metadata, dict) or not metadata.get("name") or not document.get("kind"):
            continue
        refs.append(
            make_ref(
                str(document["kind"]),
                str(metadata.get("namespace") or "default"),
                str(metadata["name"]),
            )
        )
    return [
        f"The catalog already has {ref}; choose another name."
        for ref in Entity.objects.filter(ref__in=refs).values_list("ref", flat=True)
    ]
