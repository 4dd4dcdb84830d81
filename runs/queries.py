"""Read side of runs: ready-to-render querysets for pages."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Count, Prefetch, Q, QuerySet

from runs.models import Run, RunLogLine, Step, StepStatus


def runs_for_list(
    user: AbstractBaseUser | AnonymousUser, *, mine: bool, status: str = ""
) -> QuerySet[Run]:
    runs = (
        Run.objects.visible_to(user)
        .select_related("requested_by")
        .annotate(
            step_count=Count("steps"),
            done_count=Count(
                "steps", filter=Q(steps__status__in=[StepStatus.SUCCEEDED, StepStatus.SKIPPED])
            ),
        )
    )
    if mine:
        runs = runs.filter(requested_by=user.pk)
    if status:
        runs = runs.filter(status=status)
    return runs.order_by("-created_at", "-id")


def run_for_detail(user: AbstractBaseUser | AnonymousUser, run_id: int) -> Run | None:
    """The run with its steps, or None when there is none or `user` may not see it."""
    return (
        Run.objects.visible_to(user)
        .select_related("requested_by", "cancelled_by")
        .prefetch_related(Prefetch("steps", queryset=Step.objects.order_by("position")))
        .filter(pk=run_id)
        .first()
    )


def search_runs(user: AbstractBaseUser | AnonymousUser, query: str) -> QuerySet[Run]:
    """Runs `user` may see whose title contains `query`, or whose number it is."""
    match = Q(title__icontains=query)
    if query.isdigit():
        match |= Q(pk=int(query))
    return (
        Run.objects.visible_to(user)
        .select_related("requested_by")
        .filter(match)
        .order_by("-created_at", "-id")
    )


def log_lines_after(run: Run, after: int, *, limit: int = 500) -> list[RunLogLine]:
    return list(
        RunLogLine.objects.filter(run=run, seq__gt=after)
        .select_related("step")
        .only("seq", "level", "message", "created_at", "step__key")
        .order_by("seq")[:limit]
    )
