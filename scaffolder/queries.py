"""Read side of runs: ready-to-render querysets for pages."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, User
from django.db.models import (
    BooleanField,
    Count,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
)

from catalog.models import Entity
from scaffolder.models import Run, RunLogLine, Step, StepStatus, TemplatePublication


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


def templates_for_list(
    query: str = "", *, user: User | AnonymousUser | None = None
) -> list[Entity]:
    """Template entities for the "Create" page: recommended first, then by title; `query`
    matches title, name, description and tags. With `user`, templates limited to other teams
    are left out."""
    templates = Entity.objects.filter(kind__iexact="template").only(
        "kind", "namespace", "name", "ref", "title", "description", "tags", "owner_ref",
        "spec_type", "metadata",
    )  # fmt: skip
    if query:
        templates = templates.filter(
            Q(title__icontains=query)
            | Q(name__icontains=query)
            | Q(description__icontains=query)
            | Q(tags__icontains=query)
        )
    rows: list[Entity] = list(
        templates.annotate(
            _published=Exists(TemplatePublication.objects.filter(entity_id=OuterRef("pk"))),
            _location_approved=ExpressionWrapper(
                Q(location__approved_at__isnull=False), output_field=BooleanField()
            ),
            _registered_by=F("location__created_by_id"),
        )
    )
    if user is not None:
        from scaffolder.permissions import can_use_template

        rows = [row for row in rows if can_use_template(user, row)]
    rows.sort(key=lambda e: ("recommended" not in (e.tags or []), (e.title or e.name).lower()))
    return rows


def template_entity(namespace: str, name: str) -> Entity | None:
    return Entity.objects.filter(
        kind__iexact="template", ref=f"template:{namespace}/{name}".lower()
    ).first()
