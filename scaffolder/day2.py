"""Service day 2 from the component page: "add an environment" promotes a service to staging or
production through the same GitOps flow the golden path used for its first environment — a
namespace for the team and an Argo CD application that deploys the repository's deploy/k8s —
as a visible, audited run acting with its requester's authority.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AnonymousUser, User

from catalog.models import Entity
from catalog.services import group_refs_for_user
from portal import audit
from portal.providers import git_host
from scaffolder.engine.authority import APPLICATION, record_for
from scaffolder.engine.runner import RunStartError, StepSpec, start_run
from scaffolder.models import Run

DAY2_RUN_KIND = "day2"
ENVIRONMENTS = ("dev", "staging", "production")
_NAMESPACE_ANNOTATIONS = (
    "paved.dev/namespace",
    "backstage.io/kubernetes-namespace",
    "argocd/app-namespace",
)


def may_change_service(user: User | AnonymousUser, entity: Entity) -> bool:
    """The owning team's members and platform admins."""
    if not user.is_authenticated:
        return False
    return bool(user.is_staff) or (
        bool(entity.owner_ref) and entity.owner_ref in group_refs_for_user(user)
    )


def _annotations(entity: Entity) -> dict[str, Any]:
    return dict((entity.metadata or {}).get("annotations") or {})


def service_namespace(entity: Entity) -> str:
    annotations = _annotations(entity)
    for key in _NAMESPACE_ANNOTATIONS:
        value = annotations.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return entity.name


def service_repository(entity: Entity) -> str:
    """`owner/name` from the `<host>/project-slug` annotation, or ""."""
    annotations = _annotations(entity)
    for key in sorted(annotations):
        value = str(annotations[key]).strip().strip("/")
        if key.endswith("/project-slug") and value.count("/") == 1:
            return value
    return ""


def application_name(entity: Entity, environment: str) -> str:
    return f"{entity.name}-{environment}"


def environments_of(entity: Entity) -> list[str]:
    """Environments the service is deployed to: its Argo CD applications that Paved made (the
    golden path's first one included)."""
    return [
        env
        for env in ENVIRONMENTS
        if record_for(APPLICATION, f"{env}/{application_name(entity, env)}") is not None
    ]


def start_add_environment(*, entity: Entity, environment: str, actor: User) -> Run:
    """Start the run that deploys `entity` to `environment`. RunStartError says why not."""
    if not may_change_service(actor, entity):
        raise RunStartError([f"Only {entity.owner_ref or 'the owning team'} may add environments "
                             f"to {entity.display_name}."])  # fmt: skip
    if environment not in ENVIRONMENTS:
        raise RunStartError([f"Choose one of {', '.join(ENVIRONMENTS)}."])
    if environment in environments_of(entity):
        raise RunStartError([f"{entity.display_name} already runs in {environment}."])
    full_name = service_repository(entity)
    owner, _, name = full_name.partition("/")
    repo = git_host().get_repository(owner, name) if full_name else None
    if repo is None:
        raise RunStartError([
            f"{entity.display_name} names no repository Paved can find (the `project-slug` "
            "annotation in its catalog-info.yaml); Argo CD needs one to deploy from."
        ])  # fmt: skip
    namespace = service_namespace(entity)
    steps = [
        StepSpec("namespace", "kubernetes:namespace", f"Create the namespace in {environment}",
                 inputs={"name": namespace, "owner": entity.owner_ref, "service": entity.name,
                         "environment": environment}),
        StepSpec("argocd", "argocd:create-resources", "Create the Argo CD application",
                 inputs={"appName": application_name(entity, environment), "namespace": namespace,
                         "repoUrl": repo.clone_url or repo.web_url, "path": "deploy/k8s",
                         "environment": environment, "labelValue": entity.name}),
    ]  # fmt: skip
    run = start_run(
        kind=DAY2_RUN_KIND,
        title=f"Add {environment} to {entity.name}",
        steps=steps,
        actor=actor,
        subject=f"catalog.day2:{entity.ref}",
        owner_ref=entity.owner_ref,
        context={"component": entity.ref, "environment": environment},
    )
    audit.record(
        actor=actor,
        action="component.environment.added",
        target=entity,
        target_label=entity.ref,
        after={"environment": environment, "run": run.pk},
    )
    return run
