"""Use cases of self-service infrastructure: request, approve/reject, cancel, change, delete.

Every write goes through here (views, the CLI, steps and the scaffolder's `infra:request` step
call these). Each use case validates first (nothing is written when a check fails), then writes
the request, its history and approval in one transaction and starts a run on the engine, which
is enqueued only once the transaction commits.

Approvals do not hold a run open: the first run (policy check -> request approval) finishes as
"waiting for approval", and approving starts the second run (apply -> wait -> connection). So
nothing polls while a person decides, and a request nobody decides stays pending and cancellable.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.db import IntegrityError, transaction
from django.utils import timezone

from catalog.queries import group_refs_for_user
from infra.binding import ObjectTaken, hold_objects
from infra.crossplane import (
    connection_secret_name,
)
from infra.models import (
    Approval,
    ApprovalStatus,
    Approvers,
    ChangeAction,
    RequestEvent,
    RequestStatus,
    ResourceRequest,
    TeamLead,
)
from infra.notifications import notify_event
from infra.validation import (
    CheckedRequest,
    Problem,
    RequestInvalid,
    RequestSpec,
    validate_request,
)
from portal import audit
from portal.annotations import repository_slug as repository_of
from runs.models import Run
from runs.runner import StepSpec, start_run

RUN_KIND = "infra"


class ActionDenied(PermissionError):
    """The actor may not do this; the message says who may."""


# --- reading helpers used by services and views -------------------------------------------------


def is_team_member(user: User | AnonymousUser, req: ResourceRequest) -> bool:
    return bool(req.owner_ref) and req.owner_ref in group_refs_for_user(user)


def is_team_lead(user: User | AnonymousUser, group_ref: str) -> bool:
    if not user.is_authenticated:
        return False
    return TeamLead.objects.filter(group_ref=group_ref, user_id=user.pk).exists()


def decide_denied_reason(user: User | AnonymousUser, approval: Approval) -> str | None:
    """Why `user` may not approve or reject, or None when they may."""
    if approval.status != ApprovalStatus.PENDING:
        return f"This approval is already {approval.get_status_display().lower()}."
    if approval.requested_by_id is not None and approval.requested_by_id == user.pk:
        return "You asked for this change; someone else must approve it."
    admin = bool(getattr(user, "is_staff", False))
    lead = is_team_lead(user, approval.request.owner_ref)
    if approval.approvers == Approvers.PLATFORM_ADMIN and not admin:
        return "Only a platform admin may approve this."
    if approval.approvers == Approvers.TEAM_LEAD and not lead:
        return f"Only the lead of {approval.request.owner_ref} may approve this."
    if approval.approvers == Approvers.EITHER and not (admin or lead):
        return (
            f"Only a platform admin or the lead of {approval.request.owner_ref} may approve this."
        )
    return None


def change_denied_reason(user: User | AnonymousUser, req: ResourceRequest) -> str | None:
    if getattr(user, "is_staff", False) or is_team_member(user, req):
        return None
    return f"Only members of {req.owner_ref} or a platform admin may change this resource."


def log_event(
    req: ResourceRequest,
    action: str,
    message: str,
    *,
    actor: User | None = None,
    run: Run | None = None,
    data: dict[str, Any] | None = None,
) -> RequestEvent:
    who = actor if actor is not None and actor.is_authenticated else None
    event = RequestEvent.objects.create(
        request=req,
        actor=who,
        action=action,
        message=message,
        run_id=run.pk if run else None,
        data=data or {},
    )
    # The request's own history is also the platform-wide audit trail.
    audit.record(
        actor=who,
        action=f"infra.request.{action}",
        target=req,
        summary=message,
        after={"status": req.status, **(data or {})},
    )
    notify_event(req, action, message)
    return event


def _actor_or_none(actor: User | None) -> User | None:
    return actor if actor is not None and actor.is_authenticated else None


# --- runs -------------------------------------------------------------------------------------


def _spec_for(req: ResourceRequest, parameters: dict[str, Any]) -> RequestSpec:
    return RequestSpec(
        resource_class=req.resource_class.name,
        name=req.name,
        namespace=req.namespace,
        environment=req.environment,
        provider=req.provider,
        parameters=parameters,
        component=req.component_ref,
    )


def _base_inputs(req: ResourceRequest, action: str, parameters: dict[str, Any]) -> dict[str, Any]:
    return {"request_id": req.pk, "action": action, "parameters": parameters}


def _start_approval_run(req: ResourceRequest, approval: Approval, actor: User | None) -> Run:
    inputs = _base_inputs(req, approval.action, approval.parameters)
    verb = approval.get_action_display().lower()
    return start_run(
        kind=RUN_KIND,
        title=f"{verb.capitalize()} {req.resource_class.name} {req.name} ({req.environment}): approval",
        steps=[
            StepSpec("policy", "infra:policy-check", "Check policies", inputs=inputs),
            StepSpec(
                "approval",
                "infra:request-approval",
                "Ask for approval",
                inputs={**inputs, "approval_id": approval.pk},
            ),
        ],
        actor=_actor_or_none(actor),
        inputs=inputs,
        context={
            "request_id": req.pk,
            "action": approval.action,
            "stage": "approval",
            "approval_id": approval.pk,
        },
        subject=req.subject,
        owner_ref=req.owner_ref,
    )


def _start_apply_run(
    req: ResourceRequest,
    *,
    action: str,
    parameters: dict[str, Any],
    actor: User | None,
    previous_status: str,
) -> Run:
    rc = req.resource_class
    inputs = _base_inputs(req, action, parameters)
    target = {
        "request_id": req.pk,
        "api_version": rc.api_version,
        "kind": rc.kind,
        "namespace": req.namespace,
        "name": req.name,
        "environment": req.environment,
    }
    if action == ChangeAction.DELETE:
        steps = [StepSpec("delete", "infra:delete-claim", "Delete the claim", inputs=target)]
        title = f"Delete {rc.name} {req.name} ({req.environment})"
    else:
        verb = "Provision" if action == ChangeAction.CREATE else "Change"
        title = f"{verb} {rc.name} {req.name} ({req.environment})"
        steps = [
            StepSpec("policy", "infra:policy-check", "Check policies", inputs=inputs),
            StepSpec(
                "apply",
                "infra:apply-claim",
                "Commit the claim",
                # The claim is rendered by the step: JSONB step inputs would lose key order.
                inputs={
                    **target,
                    "parameters": parameters,
                    "provider": req.provider,
                    "message": title,
                },
            ),
            StepSpec("ready", "infra:wait-ready", "Wait until ready", inputs=target),
            StepSpec(
                "connection",
                "infra:record-connection",
                "Record the connection secret",
                inputs={**target, "secret_name": connection_secret_name(req.name)},
            ),
        ]
        repository = _repository_to_wire(req) if action == ChangeAction.CREATE else ""
        if repository:
            steps.append(
                StepSpec(
                    "wire",
                    "infra:wire-connection",
                    "Open the pull request that connects the service",
                    inputs={"request_id": req.pk, "repository": repository},
                )
            )
    return start_run(
        kind=RUN_KIND,
        title=title,
        steps=steps,
        actor=_actor_or_none(actor),
        inputs=inputs,
        context={
            "request_id": req.pk,
            "action": action,
            "stage": "apply",
            "previous_status": previous_status,
        },
        subject=req.subject,
        owner_ref=req.owner_ref,
    )


def _repository_to_wire(req: ResourceRequest) -> str:
    """The service's repository, when the request has connection details for it to read."""
    rc = req.resource_class
    if not (rc.connection_secret_keys and settings.PAVED_INFRA_PUSH_CONNECTION_SECRETS):
        return ""  # the ExternalSecret reads the store entry the PushSecret writes
    return repository_of(req.component.metadata if req.component else None)


def _new_approval(
    req: ResourceRequest,
    checked: CheckedRequest,
    action: str,
    parameters: dict[str, Any],
    actor: User | None,
) -> Approval:
    assert checked.policy is not None  # noqa: S101  (needs_approval implies a policy)
    return Approval.objects.create(
        request=req,
        action=action,
        parameters=parameters,
        approvers=checked.policy.approvers,
        requested_by=_actor_or_none(actor),
    )


# --- use cases ---------------------------------------------------------------------------------


def preview_request(*, spec: RequestSpec, actor: User | AnonymousUser) -> CheckedRequest:
    """Validate without writing: the claim and the cost estimate, or RequestInvalid."""
    return validate_request(spec, actor=actor)


def submit_request(
    *,
    spec: RequestSpec,
    actor: User,
    source_run_id: int | None = None,
) -> ResourceRequest:
    """Ask for a resource. Raises RequestInvalid (nothing written) when a check fails."""
    checked = validate_request(spec, actor=actor, check_repository=True)
    needs_approval = checked.needs_approval
    try:
        with transaction.atomic():
            req = ResourceRequest.objects.create(
                resource_class=checked.resource_class,
                component=checked.component,
                component_ref=checked.component.ref if checked.component else "",
                owner_ref=checked.owner_ref,
                name=spec.name,
                namespace=checked.namespace,
                environment=spec.environment,
                provider=spec.provider,
                parameters=checked.parameters,
                status=RequestStatus.AWAITING_APPROVAL
                if needs_approval
                else RequestStatus.PROVISIONING,
                deletion_protection=bool(checked.tier and checked.tier.deletion_protection),
                connection_secret_name=checked.secret_name,
                monthly_cost=checked.monthly_cost,
                requested_by=_actor_or_none(actor),
                needed_approval=needs_approval,
                source_run_id=source_run_id,
            )
            # Every name it writes is now its own; a request that got one first wins.
            hold_objects(req)
            if needs_approval:
                approval = _new_approval(
                    req, checked, ChangeAction.CREATE, checked.parameters, actor
                )
                run = _start_approval_run(req, approval, actor)
                message = f"Requested; waiting for approval ({approval.get_approvers_display()})."
            else:
                run = _start_apply_run(
                    req,
                    action=ChangeAction.CREATE,
                    parameters=checked.parameters,
                    actor=actor,
                    previous_status="",
                )
                message = "Requested; no approval needed."
            log_event(
                req,
                "requested",
                message,
                actor=actor,
                run=run,
                data={"parameters": checked.parameters},
            )
    except ObjectTaken as exc:
        raise RequestInvalid([Problem("name", str(exc))]) from exc
    except IntegrityError as exc:
        # Two people asked for the same name at the same moment: the constraint decides.
        raise RequestInvalid(
            [
                Problem(
                    "name", f"{spec.name!r} was just requested by someone else; choose another name"
                )
            ]
        ) from exc
    return req


def _pending_approval(req: ResourceRequest) -> Approval | None:
    return req.approvals.filter(status=ApprovalStatus.PENDING).first()


def approve_request(*, approval: Approval, actor: User, comment: str = "") -> Run:
    """Approve a pending change and start the run that applies it."""
    with transaction.atomic():
        approval = (
            Approval.objects.select_for_update()
            .select_related("request", "request__resource_class")
            .get(pk=approval.pk)
        )
        reason = decide_denied_reason(actor, approval)
        if reason:
            raise ActionDenied(reason)
        req = approval.request
        if approval.action != ChangeAction.DELETE:
            _recheck_before_writing(req, approval.parameters)
        now = timezone.now()
        Approval.objects.filter(pk=approval.pk).update(
            status=ApprovalStatus.APPROVED, decided_by=actor, decided_at=now, comment=comment
        )
        previous = req.status
        new_status = {
            ChangeAction.CREATE: RequestStatus.PROVISIONING,
            ChangeAction.UPDATE: RequestStatus.UPDATING,
            ChangeAction.DELETE: RequestStatus.DELETING,
        }[ChangeAction(approval.action)]
        ResourceRequest.objects.filter(pk=req.pk).update(
            status=new_status, status_message="", updated_at=now
        )
        # The run acts for the person who asked: approving lets it go ahead, it does not lend
        # the approver's authority (the pull request that wires the secret is the asker's).
        run = _start_apply_run(
            req,
            action=approval.action,
            parameters=approval.parameters,
            actor=approval.requested_by,
            previous_status=previous if approval.action != ChangeAction.CREATE else "",
        )
        log_event(
            req,
            "approved",
            f"{approval.get_action_display()} approved" + (f": {comment}" if comment else "."),
            actor=actor,
            run=run,
        )
    return run


def _recheck_before_writing(req: ResourceRequest, parameters: dict[str, Any]) -> None:
    """At approval: the names may have been taken, or the files written, since the request
    was made; approving then would clobber them. RequestInvalid says what is in the way."""
    validate_request(
        _spec_for(req, parameters), existing=req, require_component=False, check_repository=True
    )
    try:
        hold_objects(req)
    except ObjectTaken as exc:
        raise RequestInvalid([Problem("name", str(exc))]) from exc


def reject_request(*, approval: Approval, actor: User, comment: str) -> None:
    """Reject a pending change; a rejected new request ends, a live resource stays as it is."""
    if not comment.strip():
        raise RequestInvalid([Problem("comment", "say why, so the team knows what to change")])
    with transaction.atomic():
        approval = (
            Approval.objects.select_for_update().select_related("request").get(pk=approval.pk)
        )
        reason = decide_denied_reason(actor, approval)
        if reason:
            raise ActionDenied(reason)
        now = timezone.now()
        Approval.objects.filter(pk=approval.pk).update(
            status=ApprovalStatus.REJECTED, decided_by=actor, decided_at=now, comment=comment
        )
        req = approval.request
        if approval.action == ChangeAction.CREATE:
            ResourceRequest.objects.filter(pk=req.pk).update(
                status=RequestStatus.REJECTED, status_message=comment[:500], updated_at=now
            )
        log_event(
            req, "rejected", f"{approval.get_action_display()} rejected: {comment}", actor=actor
        )


def cancel_request(*, request: ResourceRequest, actor: User) -> None:
    """Withdraw a change that still waits for approval (a new request ends as cancelled)."""
    reason = change_denied_reason(actor, request)
    if reason:
        raise ActionDenied(reason)
    with transaction.atomic():
        approval = (
            Approval.objects.select_for_update()
            .filter(request=request, status=ApprovalStatus.PENDING)
            .first()
        )
        if approval is None:
            raise RequestInvalid([Problem("request", "nothing is waiting for approval")])
        now = timezone.now()
        Approval.objects.filter(pk=approval.pk).update(
            status=ApprovalStatus.CANCELLED, decided_by=actor, decided_at=now
        )
        if approval.action == ChangeAction.CREATE:
            ResourceRequest.objects.filter(pk=request.pk).update(
                status=RequestStatus.CANCELLED, updated_at=now
            )
        log_event(request, "cancelled", f"{approval.get_action_display()} withdrawn.", actor=actor)


def _check_can_change(req: ResourceRequest, actor: User, *, deleting: bool = False) -> None:
    reason = change_denied_reason(actor, req)
    if reason:
        raise ActionDenied(reason)
    allowed: tuple[RequestStatus, ...] = (RequestStatus.READY, RequestStatus.COMMITTED)
    if deleting:
        allowed = (*allowed, RequestStatus.FAILED)
    if req.status not in allowed:
        raise RequestInvalid(
            [
                Problem(
                    "request", f"it is {req.get_status_display().lower()}; wait until it is ready"
                )
            ]
        )
    if _pending_approval(req) is not None:
        raise RequestInvalid(
            [Problem("request", "another change is waiting for approval; cancel it first")]
        )


def _lock_for_change(req: ResourceRequest, actor: User, *, deleting: bool = False) -> None:
    """Check again with the row locked: two clicks (or two people) must not both start a
    change; the second one waits here, then sees the first one's status or approval."""
    locked = ResourceRequest.objects.select_for_update().get(pk=req.pk)
    _check_can_change(locked, actor, deleting=deleting)


def change_request(
    *, request: ResourceRequest, actor: User, parameters: dict[str, Any]
) -> ResourceRequest:
    """Day-2 change (resize, change tier, ...): the new parameters, checked like a new request."""
    _check_can_change(request, actor)
    merged = {**request.parameters, **parameters}
    if merged == request.parameters:
        raise RequestInvalid([Problem("parameters", "nothing changed")])
    checked = validate_request(_spec_for(request, merged), existing=request)
    with transaction.atomic():
        _lock_for_change(request, actor)
        if checked.needs_approval:
            approval = _new_approval(
                request, checked, ChangeAction.UPDATE, checked.parameters, actor
            )
            run = _start_approval_run(request, approval, actor)
            message = "Change requested; waiting for approval."
        else:
            previous = request.status
            ResourceRequest.objects.filter(pk=request.pk).update(
                status=RequestStatus.UPDATING, updated_at=timezone.now()
            )
            run = _start_apply_run(
                request,
                action=ChangeAction.UPDATE,
                parameters=checked.parameters,
                actor=actor,
                previous_status=previous,
            )
            message = "Change requested."
        changed = {k: v for k, v in checked.parameters.items() if request.parameters.get(k) != v}
        log_event(request, "change-requested", f"{message} {changed}", actor=actor, run=run,
             data={"parameters": checked.parameters})  # fmt: skip
    request.refresh_from_db()
    return request


def resize_request(*, request: ResourceRequest, actor: User, size: int) -> ResourceRequest:
    key = request.resource_class.storage_parameter
    if not key:
        raise RequestInvalid(
            [Problem("size", f"{request.resource_class.name} has no size to change")]
        )
    return change_request(request=request, actor=actor, parameters={key: size})


def change_tier(*, request: ResourceRequest, actor: User, tier: str) -> ResourceRequest:
    if tier == request.parameters.get("tier"):
        raise RequestInvalid([Problem("parameters.tier", f"it is already {tier}")])
    return change_request(request=request, actor=actor, parameters={"tier": tier})


def set_deletion_protection(*, request: ResourceRequest, actor: User, enabled: bool) -> None:
    reason = change_denied_reason(actor, request)
    if reason:
        raise ActionDenied(reason)
    with transaction.atomic():
        ResourceRequest.objects.filter(pk=request.pk).update(
            deletion_protection=enabled, updated_at=timezone.now()
        )
        log_event(request, "protection", f"Deletion protection turned {'on' if enabled else 'off'}.",
             actor=actor)  # fmt: skip
    request.refresh_from_db()


def delete_request(*, request: ResourceRequest, actor: User, confirm: str) -> None:
    """Delete the resource. `confirm` must repeat its name (the second of two steps)."""
    _check_can_change(request, actor, deleting=True)
    if request.deletion_protection:
        raise RequestInvalid(
            [Problem("request", "deletion protection is on; turn it off before deleting")]
        )
    if confirm.strip() != request.name:
        raise RequestInvalid(
            [Problem("confirm", f"type {request.name!r} to confirm that it should be deleted")]
        )
    checked_policy_needs_approval = _deletion_needs_approval(request)
    with transaction.atomic():
        _lock_for_change(request, actor, deleting=True)
        if checked_policy_needs_approval is not None:
            approval = Approval.objects.create(
                request=request,
                action=ChangeAction.DELETE,
                parameters=request.parameters,
                approvers=checked_policy_needs_approval,
                requested_by=actor,
            )
            run = _start_approval_run(request, approval, actor)
            message = "Deletion requested; waiting for approval."
        else:
            previous = request.status
            ResourceRequest.objects.filter(pk=request.pk).update(
                status=RequestStatus.DELETING, updated_at=timezone.now()
            )
            run = _start_apply_run(
                request,
                action=ChangeAction.DELETE,
                parameters=request.parameters,
                actor=actor,
                previous_status=previous,
            )
            message = "Deletion requested."
        log_event(request, "delete-requested", message, actor=actor, run=run)


def _deletion_needs_approval(req: ResourceRequest) -> str | None:
    from infra.validation import effective_policy

    policy = effective_policy(req.environment, req.owner_ref)
    if policy and policy.requires_approval:
        return policy.approvers
    return None


def request_from_scaffolder(*, run: Run, inputs: dict[str, Any]) -> ResourceRequest:
    """The scaffolder's `infra:request` step: ask for a resource on behalf of the run's
    requester. Idempotent: a step that runs again returns the request it already made."""
    spec = RequestSpec.from_document(inputs)
    existing = (
        ResourceRequest.objects.filter(source_run_id=run.pk, name=spec.name)
        .exclude(status__in=[RequestStatus.CANCELLED])
        .first()
    )
    if existing is not None:
        return existing
    if run.requested_by is None:
        raise RequestInvalid([Problem("run", "the run has no requester to own the request")])
    return submit_request(spec=spec, actor=run.requested_by, source_run_id=run.pk)
