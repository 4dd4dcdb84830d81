"""Read side of self-service infrastructure: ready-to-render querysets for pages."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Count, Q, QuerySet, Sum

from catalog.models import Entity
from catalog.queries import group_refs_subquery
from infra.models import (
    Approval,
    Approvers,
    RequestEvent,
    RequestStatus,
    ResourceRequest,
    TeamLead,
)
from runs.models import Run, Step, StepStatus

INACTIVE = [RequestStatus.DELETED, RequestStatus.REJECTED, RequestStatus.CANCELLED]


def _own(user: User) -> Q:
    """The owning team's members, the person who asked (even after leaving the team) and the
    team's leads (who approve). Subqueries, so that a list stays one query."""
    led = TeamLead.objects.filter(user_id=user.pk).values("group_ref")
    return (
        Q(owner_ref__in=group_refs_subquery(user)) | Q(requested_by=user.pk) | Q(owner_ref__in=led)
    )


def _requests() -> QuerySet[ResourceRequest]:
    return ResourceRequest.objects.select_related("resource_class", "component", "requested_by")


def visible_requests(user: User | AnonymousUser) -> QuerySet[ResourceRequest]:
    """Requests the user may look at, the same rule as runs: their own (see _own), and all of
    them for platform admins. Everyone else gets 404 on the page."""
    if not user.is_authenticated:
        return _requests().none()
    if getattr(user, "is_staff", False):
        return _requests()
    return _requests().filter(_own(user))


def team_requests(user: User | AnonymousUser) -> QuerySet[ResourceRequest]:
    """The user's own, for platform admins too (their "My teams" list)."""
    if not user.is_authenticated:
        return _requests().none()
    return _requests().filter(_own(user))


def requests_for_list(
    user: User | AnonymousUser, *, status: str = "", show_all: bool = False
) -> QuerySet[ResourceRequest]:
    requests = visible_requests(user) if show_all else team_requests(user)
    if status == "active":
        requests = requests.exclude(status__in=INACTIVE)
    elif status:
        requests = requests.filter(status=status)
    return requests.order_by("-created_at", "-id")


def request_for_detail(user: User | AnonymousUser, pk: int) -> ResourceRequest | None:
    return visible_requests(user).filter(pk=pk).first()


def runs_for_request(user: User | AnonymousUser, req: ResourceRequest) -> list[Run]:
    return list(
        Run.objects.visible_to(user).filter(subject=req.subject).order_by("-created_at", "-id")
    )


def wiring_for_request(req: ResourceRequest) -> dict[str, Any] | None:
    """What the last wiring step did (its pull request, or why there is none), or None."""
    outputs = (
        Step.objects.filter(
            run__subject=req.subject, kind="infra:wire-connection", status=StepStatus.SUCCEEDED
        )
        .order_by("-id")
        .values_list("outputs", flat=True)
        .first()
    )
    return dict(outputs) if outputs else None


def events_for_request(req: ResourceRequest) -> list[RequestEvent]:
    return list(req.events.select_related("actor").order_by("-created_at", "-id")[:100])


def approvals_for_decider(user: User | AnonymousUser) -> QuerySet[Approval]:
    """Pending approvals this user may decide (platform admins, team leads)."""
    base = Approval.objects.pending().select_related(
        "request", "request__resource_class", "requested_by"
    )
    if not user.is_authenticated:
        return base.none()
    led = list(TeamLead.objects.filter(user_id=user.pk).values_list("group_ref", flat=True))
    allowed = Q(pk__in=[])
    if getattr(user, "is_staff", False):
        allowed |= Q(approvers__in=[Approvers.PLATFORM_ADMIN, Approvers.EITHER])
    if led:
        allowed |= Q(
            request__owner_ref__in=led, approvers__in=[Approvers.TEAM_LEAD, Approvers.EITHER]
        )
    return base.filter(allowed).exclude(requested_by=user.pk).order_by("created_at")


def approvals_waiting_for_team(user: User | AnonymousUser) -> QuerySet[Approval]:
    """Pending approvals of the user's own teams (to follow, not to decide)."""
    return (
        Approval.objects.pending()
        .select_related("request", "request__resource_class", "requested_by")
        .filter(request__owner_ref__in=group_refs_subquery(user))
        .order_by("created_at")
    )


def team_costs(user: User | AnonymousUser) -> list[dict[str, Any]]:
    """Monthly cost of live resources per team and environment (admins: every team)."""
    requests = ResourceRequest.objects.exclude(status__in=[*INACTIVE, RequestStatus.FAILED])
    if not getattr(user, "is_staff", False):
        requests = requests.filter(owner_ref__in=group_refs_subquery(user))
    rows = (
        requests.values("owner_ref", "environment", "resource_class__name")
        .annotate(count=Count("id"), cost=Sum("monthly_cost"))
        .order_by("owner_ref", "environment", "resource_class__name")
    )
    teams: dict[str, dict[str, Any]] = {}
    for row in rows:
        team = teams.setdefault(
            row["owner_ref"], {"owner_ref": row["owner_ref"], "rows": [], "total": Decimal(0)}
        )
        team["rows"].append(row)
        team["total"] += row["cost"] or Decimal(0)
    return list(teams.values())


def component_infra_summary(entity: Entity) -> dict[str, Any]:
    """For the catalog entity page's Infrastructure and Costs tabs: the component's live
    resources and their monthly cost. Two queries, whatever the number of resources."""
    requests = list(
        ResourceRequest.objects.select_related("resource_class")
        .filter(component=entity)
        .exclude(status__in=INACTIVE)
        .order_by("environment", "name")
    )
    by_env: dict[str, Decimal] = {}
    for req in requests:
        if req.status != RequestStatus.FAILED:
            by_env[req.environment] = by_env.get(req.environment, Decimal(0)) + req.monthly_cost
    return {
        "entity": entity,
        "requests": requests,
        "count": len(requests),
        "monthly_cost": sum(by_env.values(), Decimal(0)),
        "cost_by_environment": sorted(by_env.items()),
    }


def my_requests_section(user: User | AnonymousUser) -> dict[str, Any]:
    if not user.is_authenticated:
        return {"rows": []}
    rows = list(requests_for_list(user)[:6])
    to_decide = approvals_for_decider(user).count()
    return {"rows": rows or ([None] if to_decide else []), "to_decide": to_decide}


def self_service_stats(*, since: Any = None) -> dict[str, Any]:
    """For metrics: how many requests were fulfilled without a human, and how fast.

    Counts requests that reached ready (or committed, in GitOps mode) since `since`."""
    done = ResourceRequest.objects.filter(ready_at__isnull=False)
    if since is not None:
        done = done.filter(ready_at__gte=since)
    rows = list(done.values_list("fulfilled_without_human", "time_to_ready", "needed_approval"))
    durations = sorted(t for _, t, _ in rows if t is not None)
    self_service = sum(1 for f, _, _ in rows if f)
    return {
        "fulfilled": len(rows),
        "without_human": self_service,
        "self_service_rate": (self_service / len(rows)) if rows else None,
        "needed_approval": sum(1 for _, _, a in rows if a),
        "median_time_to_ready": durations[len(durations) // 2] if durations else None,
    }
