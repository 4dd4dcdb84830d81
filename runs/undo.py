""" "Undo what this run created": a failed or cancelled run's repository, namespace, Argo CD
application and catalog location are removed by a run of its own (visible, retried, audited).

Every step that creates something outside Paved records it in `ProvisionedResource` before it
writes it (engine/authority.py), so the undo knows exactly what the run made — and nothing that
was there before it. The undo run acts with its requester's authority like any run: a team can
undo only what it owns.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.contrib.auth.models import User

from catalog.ingestion import REPO
from catalog.models import Location
from catalog.services import remove_location
from portal import audit
from portal.providers import cluster, deployer, git_host_named
from runs.authority import (
    APPLICATION,
    CATALOG,
    CATALOG_LOCATION,
    NAMESPACE,
    PULL_REQUEST,
    REPOSITORY,
    Write,
    split_repository_key,
)
from runs.context import StepContext
from runs.models import ProvisionedResource, Run, RunStatus
from runs.permissions import can_manage_run
from runs.registry import OUTSIDE, StepKind, register_step
from runs.runner import RunStartError, StepSpec, start_run

UNDO_RUN_KIND = "undo"
UNDOABLE = (RunStatus.FAILED, RunStatus.CANCELLED)
_WHAT = {
    REPOSITORY: "repository",
    NAMESPACE: "namespace",
    APPLICATION: "Argo CD application",
    CATALOG_LOCATION: "catalog entries from",
    "branch": "branch",
}


def describe(record: ProvisionedResource) -> str:
    """`the repository team-orders/orders-api`, `the namespace orders-api (dev)`, …"""
    name = record.key
    if record.kind in (NAMESPACE, APPLICATION):
        environment, _, name = record.key.partition("/")
        name = f"{name} ({environment})"
    return f"the {_WHAT.get(record.kind, record.kind)} {name}"


def created_by(run: Run) -> list[ProvisionedResource]:
    """What the run created, newest first (removed in that order: catalog before repository)."""
    return list(ProvisionedResource.objects.filter(run=run).order_by("-created_at", "-pk"))


def active_undo(run: Run) -> Run | None:
    return (
        Run.objects.filter(kind=UNDO_RUN_KIND, subject=f"scaffolder.undo:{run.pk}").active().first()
    )


def start_undo(run: Run, *, actor: User) -> Run:
    """Start the run that removes what `run` created. RunStartError says why it cannot."""
    if not can_manage_run(actor, run):
        raise RunStartError(["Only the run's team, its requester or a platform admin may undo it."])
    if run.status not in UNDOABLE:
        raise RunStartError(["Only a failed or cancelled run can be undone."])
    if active_undo(run) is not None:
        raise RunStartError(["This run is already being undone."])
    records = created_by(run)
    if not records:
        raise RunStartError(["This run created nothing outside Paved; there is nothing to undo."])
    steps = [
        StepSpec(
            key=f"remove-{index + 1}",
            kind=UndoCreated.name,
            name=f"Remove {describe(record)}",
            inputs={"record_id": record.pk},
        )
        for index, record in enumerate(records)
    ]
    undo = start_run(
        kind=UNDO_RUN_KIND,
        title=f"Undo run #{run.pk}: {run.title}",
        steps=steps,
        actor=actor,
        subject=f"scaffolder.undo:{run.pk}",
        owner_ref=run.owner_ref,
        context={"undoes": run.pk},
    )
    audit.record(
        actor=actor,
        action="run.undo.started",
        target=run,
        after={"undo_run": undo.pk, "removes": [describe(r) for r in records]},
    )
    return undo


def _write_for(record: ProvisionedResource) -> Write:
    environment, _, name = record.key.partition("/")
    if record.kind == REPOSITORY:
        host, full_name = split_repository_key(record.key)
        return Write(REPOSITORY, name=full_name, host=host)
    if record.kind == NAMESPACE:
        return Write(NAMESPACE, name=name, owner=record.owner_ref, environment=environment)
    if record.kind == APPLICATION:
        return Write(APPLICATION, name=name, environment=environment)
    if record.kind == "branch":
        host, full_name = split_repository_key(record.key.split("#", 1)[0])
        return Write(PULL_REQUEST, name=full_name, host=host)
    return Write(CATALOG, name=record.key, owner=record.owner_ref)


@register_step
class UndoCreated(StepKind):
    """Remove one thing a run created; repeating it is harmless (gone is gone)."""

    name = "undo:remove"
    title = "Remove what a failed run created"
    writes = OUTSIDE
    internal = True
    input_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "required": ["record_id"],
        "properties": {"record_id": {"type": "integer"}},
        "additionalProperties": False,
    }

    @classmethod
    def write_targets(cls, inputs: dict[str, Any], run: Run) -> list[Write]:
        record = ProvisionedResource.objects.filter(pk=inputs["record_id"]).first()
        return [_write_for(record)] if record is not None else []

    def run(self, ctx: StepContext) -> dict[str, Any]:
        record = ProvisionedResource.objects.filter(pk=ctx.inputs["record_id"]).first()
        if record is None:
            ctx.log.info("Already removed.")
            return {"removed": False}
        what = describe(record)
        removed = _remove(record, ctx)
        record.delete()  # the name is free again
        ctx.log.info("%s %s.", "Removed" if removed else "Nothing left of", what)
        return {"removed": removed, "what": what}


def _remove(record: ProvisionedResource, ctx: StepContext) -> bool:
    environment, _, name = record.key.partition("/")
    if record.kind == REPOSITORY:
        host_name, full_name = split_repository_key(record.key)
        owner, _, repo_name = full_name.rpartition("/")
        host = git_host_named(host_name)
        repo = host.get_repository(owner, repo_name)
        return repo is not None and host.delete_repository(repo)
    if record.kind == NAMESPACE:
        return cluster().delete_namespace(name, environment=environment)
    if record.kind == APPLICATION:
        return deployer().delete_application(name, environment=environment)
    if record.kind == CATALOG_LOCATION:
        location = Location.objects.filter(type=REPO, target=record.key).first()
        if location is None:
            return False
        remove_location(location=location, actor=ctx.run.requested_by)
        return True
    # A branch stays with its pull request (closing it is the reviewer's call).
    ctx.log.info("Left %s and its pull request as they are.", describe(record))
    return False
