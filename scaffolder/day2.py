"""Service day 2 from the component page, each as a visible, audited run acting with its
requester's authority:

- "add an environment" promotes a service to staging or production through the same GitOps flow
  the golden path used for its first environment — a namespace for the team and an Argo CD
  application that deploys the repository's deploy/k8s;
- "decommission" releases its infrastructure, removes its Argo CD applications and namespaces,
  archives its repository and retires its catalog entry (after typing its name to confirm).
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.contrib.auth.models import AnonymousUser, User

from catalog.models import Entity
from catalog.queries import group_refs_for_user
from catalog.services import remove_location
from portal import audit
from portal.annotations import NAMESPACE_KEYS, repository_slug
from portal.providers import git_host
from portal.providers.base import PermanentProviderError
from runs.authority import (
    APPLICATION,
    CATALOG,
    NAMESPACE,
    REPOSITORY,
    Write,
    record_for,
)
from runs.context import StepContext
from runs.models import ProvisionedResource, Run
from runs.registry import OUTSIDE, StepKind, register_step, step_kinds
from runs.runner import RunStartError, StepSpec, start_run
from runs.undo import UndoCreated, describe

DAY2_RUN_KIND = "day2"
ENVIRONMENTS = ("dev", "staging", "production")


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
    for key in NAMESPACE_KEYS:
        value = annotations.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return entity.name


def service_repository(entity: Entity) -> str:
    """`owner/name` from the `<host>/project-slug` annotation, or ""."""
    return repository_slug(entity.metadata)


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


# --- decommission ---------------------------------------------------------------------------


def _gitops_records(entity: Entity) -> list[ProvisionedResource]:
    """The Argo CD applications and namespaces Paved made for the service, applications first."""
    namespace = service_namespace(entity)
    keys = [(APPLICATION, f"{env}/{application_name(entity, env)}") for env in ENVIRONMENTS]
    keys += [(NAMESPACE, f"{env}/{namespace}") for env in ENVIRONMENTS]
    found = [record_for(kind, key) for kind, key in keys]
    return [r for r in found if r is not None and r.owner_ref == entity.owner_ref]


def decommission_plan(entity: Entity) -> list[str]:
    """What a decommission removes, in order, in plain words."""
    plan = []
    if "infra:release-component" in step_kinds():
        plan.append("delete its infrastructure (databases, buckets, …), each by its own delete")
    plan += [f"remove {describe(r)}" for r in _gitops_records(entity)]
    if service_repository(entity):
        plan.append(
            f"archive the repository {service_repository(entity)} (read-only; history stays)"
        )
    plan.append(f"retire {entity.display_name} from the catalog")
    return plan


def start_decommission(*, entity: Entity, actor: User, confirm: str) -> Run:
    """Start the run that takes the service down. RunStartError says why not."""
    if not may_change_service(actor, entity):
        raise RunStartError([f"Only {entity.owner_ref or 'the owning team'} may decommission "
                             f"{entity.display_name}."])  # fmt: skip
    if confirm.strip() != entity.name:
        raise RunStartError([f"Type {entity.name} to confirm."])
    steps = []
    if "infra:release-component" in step_kinds():
        steps.append(StepSpec("infrastructure", "infra:release-component",
                              "Delete its infrastructure", inputs={"component": entity.ref}))  # fmt: skip
    steps += [
        StepSpec(f"remove-{i + 1}", UndoCreated.name, f"Remove {describe(r)}",
                 inputs={"record_id": r.pk})
        for i, r in enumerate(_gitops_records(entity))
    ]  # fmt: skip
    if service_repository(entity):
        steps.append(StepSpec("archive", ArchiveRepository.name, "Archive the repository",
                              inputs={"repository": service_repository(entity)}))  # fmt: skip
    steps.append(StepSpec("retire", RetireEntity.name, "Retire the catalog entry",
                          inputs={"ref": entity.ref}))  # fmt: skip
    run = start_run(
        kind=DAY2_RUN_KIND,
        title=f"Decommission {entity.name}",
        steps=steps,
        actor=actor,
        subject=f"catalog.day2:{entity.ref}",
        owner_ref=entity.owner_ref,
        context={"component": entity.ref, "decommission": True},
    )
    audit.record(actor=actor, action="component.decommissioned", target=entity,
                 target_label=entity.ref, after={"run": run.pk, "plan": decommission_plan(entity)})  # fmt: skip
    return run


@register_step
class ArchiveRepository(StepKind):
    """Make a decommissioned service's repository read-only; repeating it is harmless."""

    name = "day2:archive-repository"
    title = "Archive a decommissioned service's repository"
    writes = OUTSIDE
    internal = True
    input_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "required": ["repository"],
        "properties": {"repository": {"type": "string", "pattern": "^[^/]+/[^/]+$"}},
        "additionalProperties": False,
    }

    @classmethod
    def write_targets(cls, inputs: dict[str, Any], run: Run) -> list[Write]:
        return [Write(REPOSITORY, name=inputs["repository"])]

    def run(self, ctx: StepContext) -> dict[str, Any]:
        owner, _, name = ctx.inputs["repository"].partition("/")
        host = git_host()
        repo = host.get_repository(owner, name)
        if repo is None:
            ctx.log.info("Repository %s is already gone.", ctx.inputs["repository"])
            return {"archived": False}
        archived = host.archive_repository(repo)
        ctx.log.info("Repository %s %s.", repo.full_name,
                     "archived" if archived else "was already archived")  # fmt: skip
        return {"archived": archived}


@register_step
class RetireEntity(StepKind):
    """Remove a decommissioned service from the catalog, with the location that provided it."""

    name = "day2:retire-entity"
    title = "Retire a decommissioned service from the catalog"
    writes = OUTSIDE
    internal = True
    input_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "required": ["ref"],
        "properties": {"ref": {"type": "string", "minLength": 1}},
        "additionalProperties": False,
    }

    @classmethod
    def write_targets(cls, inputs: dict[str, Any], run: Run) -> list[Write]:
        owner = Entity.objects.filter(ref=inputs["ref"]).values_list("owner_ref", flat=True).first()
        # Gone already: nothing to write. A missing owner is nobody's team: refused.
        return [] if owner is None else [Write(CATALOG, name=inputs["ref"], owner=owner or "-")]

    def run(self, ctx: StepContext) -> dict[str, Any]:
        entity = Entity.objects.select_related("location").filter(ref=ctx.inputs["ref"]).first()
        if entity is None:
            ctx.log.info("%s is already out of the catalog.", ctx.inputs["ref"])
            return {"removed": 0}
        if entity.location is None:
            raise PermanentProviderError(
                f"{entity.ref} was saved in Paved by the platform team, not read from a "
                "repository; a platform admin removes it in Django admin"
            )
        removed = remove_location(location=entity.location, actor=ctx.run.requested_by)
        ctx.log.info("Removed %d catalog entr%s read from %s.", removed,
                     "y" if removed == 1 else "ies", entity.location.target)  # fmt: skip
        return {"removed": removed}
