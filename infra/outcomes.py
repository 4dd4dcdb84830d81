"""What happens to a request when one of its runs ends (the engine's on_finished hook for
runs of kind "infra"), and the self-service metric it records."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from infra.models import Approval, ApprovalStatus, ChangeAction, RequestStatus, ResourceRequest
from infra.services import RUN_KIND, log_event
from infra.validation import estimate_monthly_cost
from runs.models import Run, RunLogLine, RunStatus
from runs.registry import RunKindHooks, register_run_kind


def _fulfilled_without_human(req: ResourceRequest) -> bool:
    """Self-service: no person had to act — neither an approver nor someone retrying a failed
    run. (An approval is a person's work, however quick: counting it as self-service would
    flatter the platform.)"""
    if ResourceRequest.objects.filter(pk=req.pk, needed_approval=True).exists():
        return False
    run_ids = Run.objects.filter(subject=req.subject).values("pk")
    return not RunLogLine.objects.filter(
        run_id__in=run_ids, message__startswith="Retry requested by"
    ).exists()


def on_run_finished(run: Run) -> None:
    """Engine hook: move the request along when one of its runs ends."""
    context = run.context or {}
    req = (
        ResourceRequest.objects.select_related("resource_class")
        .filter(pk=int(context.get("request_id") or 0))
        .first()
    )
    if req is None:
        return
    action = context.get("action", ChangeAction.CREATE)
    now = timezone.now()
    if context.get("stage") == "approval":
        if run.status == RunStatus.SUCCEEDED:
            return  # waiting for a person; approve/reject/cancel take it from here
        approval = Approval.objects.filter(
            pk=int(context.get("approval_id") or 0), status=ApprovalStatus.PENDING
        ).first()
        if approval is None:
            return
        with transaction.atomic():
            Approval.objects.filter(pk=approval.pk).update(
                status=ApprovalStatus.CANCELLED, decided_at=now
            )
            cancelled = run.status == RunStatus.CANCELLED
            if action == ChangeAction.CREATE:
                ResourceRequest.objects.filter(pk=req.pk).update(
                    status=RequestStatus.CANCELLED if cancelled else RequestStatus.FAILED,
                    status_message=run.error[:500],
                    updated_at=now,
                )
            if cancelled:
                log_event(req, "cancelled", "The run was cancelled before approval.", run=run)
            else:
                log_event(req, "failed", f"The policy check did not pass: {run.error}", run=run)
        return

    previous = context.get("previous_status") or RequestStatus.READY
    with transaction.atomic():
        if run.status == RunStatus.SUCCEEDED and action == ChangeAction.DELETE:
            ResourceRequest.objects.filter(pk=req.pk).update(
                status=RequestStatus.DELETED,
                deleted_at=now,
                updated_at=now,
                status_message="",
                monthly_cost=0,
            )
            log_event(req, "deleted", "The claim was deleted.", run=run)
        elif run.status == RunStatus.SUCCEEDED:
            _record_applied(req, run, action, now)
        elif action == ChangeAction.CREATE:
            status = (
                RequestStatus.CANCELLED
                if run.status == RunStatus.CANCELLED
                else RequestStatus.FAILED
            )
            ResourceRequest.objects.filter(pk=req.pk).update(
                status=status, status_message=run.error[:500], updated_at=now
            )
            log_event(req, str(status), f"Provisioning {run.status}: {run.error}", run=run)
        else:
            ResourceRequest.objects.filter(pk=req.pk).update(
                status=previous,
                status_message=f"The last {ChangeAction(action).label.lower()} {run.status}: {run.error}"[
                    :500
                ],
                updated_at=now,
            )
            log_event(
                req,
                "change-failed",
                f"{ChangeAction(action).label} {run.status}: {run.error}",
                run=run,
            )


def _record_applied(req: ResourceRequest, run: Run, action: str, now: Any) -> None:
    outputs = {s.key: s.outputs for s in run.steps.all()}
    phase = str((outputs.get("ready") or {}).get("phase", "Ready"))
    status = RequestStatus.COMMITTED if phase == "Committed" else RequestStatus.READY
    parameters = (run.inputs or {}).get("parameters") or req.parameters
    tier = req.resource_class.tiers.filter(
        provider=req.provider, environment=req.environment, name=parameters.get("tier", "")
    ).first()
    fields: dict[str, Any] = {
        "status": status,
        "status_message": str((outputs.get("ready") or {}).get("message", "")),
        "parameters": parameters,
        "monthly_cost": estimate_monthly_cost(tier, req.resource_class, parameters),
        "connection_secret_name": str(
            (outputs.get("connection") or {}).get("secret_name") or req.connection_secret_name
        ),
        "updated_at": now,
    }
    if action == ChangeAction.CREATE and req.ready_at is None:
        fields["ready_at"] = now
        fields["time_to_ready"] = now - req.created_at
        fields["fulfilled_without_human"] = _fulfilled_without_human(req)
    ResourceRequest.objects.filter(pk=req.pk).update(**fields)
    what = "Ready" if status == RequestStatus.READY else "Committed; Argo CD applies it"
    log_event(req, "applied", f"{what}.", run=run, data={"parameters": parameters})


register_run_kind(RUN_KIND, RunKindHooks(on_finished=on_run_finished, notify_requester=False))
