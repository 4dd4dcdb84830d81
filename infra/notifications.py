"""Who hears about a request: its deciders when an approval waits for them, its requester when
it is approved, rejected, ready or failed. Called from `infra.services.log_event`, so every
event that matters notifies without each service remembering to."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db.models import Q
from django.urls import reverse

from infra.models import Approval, Approvers, ResourceRequest, TeamLead
from portal.notifications import notify

WAITING = ("requested", "change-requested", "delete-requested")
TOLD_TO_REQUESTER = {
    "approved": "was approved",
    "rejected": "was rejected",
    "applied": "is in place",
    "failed": "failed",
}


def deciders(approval: Approval) -> list[User]:
    """The people who may decide `approval` (never the person who asked for it)."""
    who = Q(pk__in=[])
    if approval.approvers in (Approvers.PLATFORM_ADMIN, Approvers.EITHER):
        who |= Q(is_staff=True)
    if approval.approvers in (Approvers.TEAM_LEAD, Approvers.EITHER):
        leads = TeamLead.objects.filter(group_ref=approval.request.owner_ref).values("user_id")
        who |= Q(pk__in=leads)
    return list(User.objects.filter(who, is_active=True).exclude(pk=approval.requested_by_id or 0))


def notify_event(req: ResourceRequest, action: str, message: str) -> None:
    label = f"{req.resource_class.title} {req.name} for {req.namespace}"
    if action in WAITING:
        approval = Approval.objects.pending().filter(request=req).order_by("-pk").first()
        if approval is not None:
            notify(
                deciders(approval),
                kind="approval.waiting",
                title=f"Waiting for your approval: {label}",
                url=reverse("infra:approval-list"),
                body=message,
            )
        return
    told = TOLD_TO_REQUESTER.get(action)
    if told and req.requested_by_id is not None:
        notify(
            [User.objects.filter(pk=req.requested_by_id).first()],
            kind=f"request.{action}",
            title=f"Your request {label} {told}",
            url=reverse("infra:request-detail", args=[req.pk]),
            body=message,
        )
