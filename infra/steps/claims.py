"""The steps of an infrastructure run: check, ask for approval, apply, wait, record, delete.

Provider calls go through `portal.providers.cluster()`; Transient errors are retried by the
engine with backoff (a failed GitOps commit is retried), Permanent ones fail the step.
"""

from __future__ import annotations

import time
from typing import Any, ClassVar

from django.conf import settings
from django.utils import timezone

from infra.binding import ObjectTaken, hold_objects, object_exists, request_objects
from infra.crossplane import (
    ESO_PUSH_API,
    crossplane_phase,
    render_claim,
    render_connection_external_secret,
    render_connection_push_secret,
)
from infra.models import Approval, RequestObject, ResourceRequest
from infra.validation import RequestInvalid, RequestSpec, validate_request
from portal.providers import cluster
from portal.providers.base import PermanentProviderError, TransientProviderError
from portal.providers.gitops import manifest_path
from runs.authority import GITOPS, Write
from runs.context import StepContext
from runs.models import Run
from runs.registry import NOTHING, OUTSIDE, StepKind, register_step

_TARGET_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "request_id": {"type": "integer"},
        "api_version": {"type": "string", "minLength": 1},
        "kind": {"type": "string", "minLength": 1},
        "namespace": {"type": "string", "minLength": 1},
        "name": {"type": "string", "minLength": 1},
        "environment": {"type": "string", "minLength": 1},
    },
    "required": ["request_id", "api_version", "kind", "namespace", "name", "environment"],
}


def _request(ctx: StepContext) -> ResourceRequest:
    req = (
        ResourceRequest.objects.select_related("resource_class")
        .filter(pk=ctx.inputs["request_id"])
        .first()
    )
    if req is None:
        raise PermanentProviderError(f"request #{ctx.inputs['request_id']} no longer exists")
    return req


def _check_target(ctx: StepContext, req: ResourceRequest) -> None:
    """The step writes what the request says, never another target its inputs name."""
    rc = req.resource_class
    expected = {
        "namespace": req.namespace,
        "name": req.name,
        "environment": req.environment,
        "kind": rc.kind,
        "api_version": rc.api_version,
    }
    for key, value in expected.items():
        if ctx.inputs.get(key) != value:
            raise PermanentProviderError(
                f"this step targets {key} {ctx.inputs.get(key)!r}, but request #{req.pk} is "
                f"{value!r}; nothing was written"
            )


def _guard_write(
    ctx: StepContext, req: ResourceRequest, provider: Any, manifests: list[dict[str, Any]]
) -> None:
    """Refuse to overwrite an object this request did not write: hold every name it writes
    (another live request may hold one: a race, or an approval given before that request
    existed), then check each file about to be committed. Marked written before the commit,
    so a retry after a crash recognises its own files."""
    try:
        rows = {row.path: row for row in hold_objects(req)}
    except ObjectTaken as exc:
        raise PermanentProviderError(f"refusing to write request #{req.pk}: {exc}") from exc
    objects = {obj.path: obj for obj in request_objects(req)}
    paths = []
    for manifest in manifests:
        meta = manifest["metadata"]
        path = manifest_path(
            req.environment,
            manifest["apiVersion"],
            manifest["kind"],
            meta["namespace"],
            meta["name"],
        )
        obj = objects.get(path)
        if obj is None or path not in rows:
            raise PermanentProviderError(
                f"{manifest['kind']} {meta['namespace']}/{meta['name']} is not an object of "
                f"request #{req.pk}; nothing was written"
            )
        if not rows[path].written and object_exists(provider, obj):
            raise PermanentProviderError(
                f"refusing to overwrite {obj} in {req.environment}: {path} is already in the "
                f"GitOps repository and was not written for request #{req.pk} "
                f"({req.resource_class.name} {req.name!r}); nothing was written"
            )
        paths.append(path)
    RequestObject.objects.filter(request=req, path__in=paths).update(written=True)


def observes_cluster(provider: Any) -> bool:
    """The GitOps provider only commits; there is no cluster to read status from."""
    explicit = getattr(provider, "observes_status", None)
    if explicit is not None:
        return bool(explicit)
    return getattr(provider, "name", "") != "gitops"


@register_step
class PolicyCheck(StepKind):
    name = "infra:policy-check"
    writes = NOTHING
    internal = True
    title = "Check the request against the class schema and the policies"
    dry_run_safe = True
    input_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "request_id": {"type": "integer"},
            "action": {"type": "string"},
            "parameters": {"type": "object"},
        },
        "required": ["request_id", "action", "parameters"],
    }

    def run(self, ctx: StepContext) -> dict[str, Any]:
        req = _request(ctx)
        if ctx.inputs["action"] == "delete":
            ctx.log.info("Deleting needs no parameter checks.")
            return {"checked": True}
        spec = RequestSpec(
            resource_class=req.resource_class.name,
            name=req.name,
            namespace=req.namespace,
            environment=req.environment,
            provider=req.provider,
            parameters=ctx.inputs["parameters"],
        )
        try:
            checked = validate_request(spec, existing=req, require_component=False)
        except RequestInvalid as exc:
            for problem in exc.problems:
                ctx.log.error("%s", problem)
            raise PermanentProviderError("; ".join(str(p) for p in exc.problems)) from exc
        ctx.log.info(
            "Schema, regions, names and quotas are fine (estimated %s per month).",
            checked.monthly_cost,
        )
        return {
            "checked": True,
            "needs_approval": checked.needs_approval,
            "monthly_cost": str(checked.monthly_cost),
        }


@register_step
class RequestApproval(StepKind):
    name = "infra:request-approval"
    writes = NOTHING
    internal = True
    title = "Ask the approvers and stop until they decide"
    input_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {"request_id": {"type": "integer"}, "approval_id": {"type": "integer"}},
        "required": ["request_id", "approval_id"],
    }

    def run(self, ctx: StepContext) -> dict[str, Any]:
        approval = Approval.objects.filter(pk=ctx.inputs["approval_id"]).first()
        if approval is None:
            raise PermanentProviderError("the approval no longer exists")
        who = approval.get_approvers_display()
        ctx.log.info(
            "Waiting for approval from %s. They see it in their approvals inbox; approving "
            "starts a new run that applies the change.",
            who.lower(),
        )
        return {"status": "waiting for approval", "approval_id": approval.pk, "approvers": who}


@register_step
class ApplyClaim(StepKind):
    name = "infra:apply-claim"
    writes = OUTSIDE
    internal = True
    title = "Commit the claim to the GitOps repository or apply it to the cluster"
    input_schema: ClassVar[dict[str, Any]] = {
        **_TARGET_SCHEMA,
        "properties": {
            **_TARGET_SCHEMA["properties"],
            "parameters": {"type": "object"},
            "provider": {"type": "string", "minLength": 1},
            "message": {"type": "string"},
        },
        "required": [*_TARGET_SCHEMA["required"], "parameters", "provider"],
    }

    @classmethod
    def write_targets(cls, inputs: dict[str, Any], run: Run) -> list[Write]:
        return [Write(GITOPS, name="the request's claim")]

    def run(self, ctx: StepContext) -> dict[str, Any]:
        req = _request(ctx)
        _check_target(ctx, req)
        manifest = render_claim(
            req.resource_class,
            name=ctx.inputs["name"],
            namespace=ctx.inputs["namespace"],
            parameters=ctx.inputs["parameters"],
            provider=ctx.inputs["provider"],
            environment=ctx.inputs["environment"],
        )
        manifests = [manifest]
        push = render_connection_push_secret(
            req.resource_class,
            name=ctx.inputs["name"],
            namespace=ctx.inputs["namespace"],
            environment=ctx.inputs["environment"],
            store=settings.PAVED_CLUSTER_SECRET_STORE,
        )
        if push is not None and settings.PAVED_INFRA_PUSH_CONNECTION_SECRETS:
            # Services read connection secrets through the store, like their own secrets.
            manifests.append(push)
        provider = cluster()
        _guard_write(ctx, req, provider, manifests)
        ctx.log.info(
            "Applying %s %s/%s in %s through the %s provider.",
            ctx.inputs["kind"],
            ctx.inputs["namespace"],
            ctx.inputs["name"],
            ctx.inputs["environment"],
            getattr(provider, "name", "cluster"),
        )
        if len(manifests) > 1:
            ctx.log.info(
                "With PushSecret %s, which copies the connection secret into the %s store.",
                push["metadata"]["name"] if push else "",
                settings.PAVED_CLUSTER_SECRET_STORE,
            )
        changed = provider.apply_manifests(
            manifests,
            environment=ctx.inputs["environment"],
            message=ctx.inputs.get("message", ""),
        )
        ctx.log.info("Claim %s.", "written" if changed else "already up to date")
        return {"changed": bool(changed), "provider": getattr(provider, "name", "")}


@register_step
class WaitReady(StepKind):
    name = "infra:wait-ready"
    writes = NOTHING
    internal = True
    title = "Wait for Crossplane's Ready and Synced conditions"
    input_schema: ClassVar[dict[str, Any]] = _TARGET_SCHEMA

    def run(self, ctx: StepContext) -> dict[str, Any]:
        provider = cluster()
        if not observes_cluster(provider):
            ctx.log.info("Committed, waiting for Argo CD to sync it (no cluster to watch here).")
            return {"phase": "Committed", "message": "committed, waiting for Argo CD"}
        interval = float(getattr(settings, "PAVED_INFRA_READY_POLL_SECONDS", 5))
        budget = float(getattr(settings, "PAVED_INFRA_READY_WAIT_SECONDS", 120))
        deadline = time.monotonic() + budget
        phase, detail = "Pending", ""
        while True:
            status = provider.read_status(
                ctx.inputs["api_version"],
                ctx.inputs["kind"],
                ctx.inputs["namespace"],
                ctx.inputs["name"],
                environment=ctx.inputs["environment"],
            )
            phase, detail = crossplane_phase(status.conditions)
            if status.ready and phase not in ("Error", "Paused"):
                phase = "Ready"
            if phase == "Ready":
                ctx.log.info("Ready (Synced and Ready conditions are True).")
                return {"phase": "Ready", "message": "", "ready_at": timezone.now().isoformat()}
            if phase == "Error":
                raise PermanentProviderError(f"Crossplane reports an error: {detail}")
            if not status.exists:
                phase, detail = "Pending", "the claim is not in the cluster yet"
            ctx.log.info("Not ready yet: %s%s", phase, f" ({detail})" if detail else "")
            if time.monotonic() + interval > deadline:
                break
            time.sleep(interval)
            ctx.heartbeat()
        # Give the worker back; the engine retries this step with backoff, a bounded number of times.
        raise TransientProviderError(f"not ready after {budget:.0f} s: {phase} {detail}".strip())


@register_step
class RecordConnection(StepKind):
    name = "infra:record-connection"
    writes = NOTHING
    internal = True
    title = "Record the connection secret and how the app reads it"
    dry_run_safe = True
    input_schema: ClassVar[dict[str, Any]] = {
        **_TARGET_SCHEMA,
        "properties": {**_TARGET_SCHEMA["properties"], "secret_name": {"type": "string"}},
        "required": [*_TARGET_SCHEMA["required"], "secret_name"],
    }

    def run(self, ctx: StepContext) -> dict[str, Any]:
        req = _request(ctx)
        secret = ctx.inputs["secret_name"]
        keys = list(req.resource_class.connection_secret_keys)
        external = render_connection_external_secret(
            name=ctx.inputs["name"],
            namespace=ctx.inputs["namespace"],
            environment=ctx.inputs["environment"],
            store=settings.PAVED_CLUSTER_SECRET_STORE,
        )
        store_key = external["spec"]["dataFrom"][0]["extract"]["key"]
        ctx.log.info(
            "Crossplane writes the connection details to Secret %s in namespace %s (keys: %s); "
            "a PushSecret copies them to %s in the %s store. Read them like the service's own "
            "secrets: ExternalSecret %s in deploy/k8s and envFrom: [{secretRef: {name: %s}}] in "
            "the Rollout (a pull request adds them when the component names its repository).",
            secret,
            ctx.inputs["namespace"],
            ", ".join(keys) or "as the composition publishes them",
            store_key,
            settings.PAVED_CLUSTER_SECRET_STORE,
            external["metadata"]["name"],
            external["spec"]["target"]["name"],
        )
        return {
            "secret_name": secret,
            "namespace": ctx.inputs["namespace"],
            "keys": keys,
            "store_key": store_key,
            "external_secret": external,
        }


@register_step
class DeleteClaim(StepKind):
    name = "infra:delete-claim"
    writes = OUTSIDE
    internal = True
    title = "Delete the claim (Crossplane deletes what it composed)"
    input_schema: ClassVar[dict[str, Any]] = _TARGET_SCHEMA

    @classmethod
    def write_targets(cls, inputs: dict[str, Any], run: Run) -> list[Write]:
        return [Write(GITOPS, name="the request's claim")]

    def run(self, ctx: StepContext) -> dict[str, Any]:
        req = _request(ctx)
        _check_target(ctx, req)
        # Only what this request wrote: a request whose name clashed must not take another
        # request's objects (its PushSecret, so its store entry) with it.
        written = set(
            RequestObject.objects.filter(request=req, written=True).values_list("path", flat=True)
        )
        provider = cluster()
        claim = manifest_path(
            req.environment, ctx.inputs["api_version"], ctx.inputs["kind"], req.namespace, req.name
        )
        removed = False
        if claim in written:
            removed = provider.delete_manifest(
                ctx.inputs["api_version"],
                ctx.inputs["kind"],
                ctx.inputs["namespace"],
                ctx.inputs["name"],
                environment=ctx.inputs["environment"],
            )
            ctx.log.info("Claim %s.", "deleted" if removed else "was already gone")
        else:
            ctx.log.info("This request never wrote its claim; nothing to delete.")
        push = manifest_path(
            req.environment, ESO_PUSH_API, "PushSecret", req.namespace, f"{req.name}-connection"
        )
        if settings.PAVED_INFRA_PUSH_CONNECTION_SECRETS and push in written:
            # Its deletionPolicy removes the store entry; absent when the class had no keys.
            pushed = provider.delete_manifest(
                ESO_PUSH_API,
                "PushSecret",
                ctx.inputs["namespace"],
                f"{ctx.inputs['name']}-connection",
                environment=ctx.inputs["environment"],
            )
            if pushed:
                ctx.log.info("PushSecret deleted; the connection secret leaves the store.")
        return {"deleted": bool(removed)}
