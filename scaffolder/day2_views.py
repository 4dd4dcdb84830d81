"""Service day 2 on the component page: add an environment, decommission (the owning team)."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_http_methods, require_POST

from catalog.graph import entity_url
from catalog.models import Entity
from portal.htmx import render_page
from runs.runner import RunStartError
from scaffolder.day2 import (
    decommission_plan,
    may_change_service,
    start_add_environment,
    start_decommission,
)


@require_POST
def component_add_environment(request: HttpRequest) -> HttpResponse:
    """Add an environment to a service (its team): a run of its own, or the reason why not."""
    entity = Entity.objects.filter(
        ref=request.POST.get("ref", ""), kind__iexact="component"
    ).first()
    if entity is None or not may_change_service(request.user, entity):
        raise Http404("No such component")
    environment = request.POST.get("environment", "")
    try:
        run = start_add_environment(entity=entity, environment=environment, actor=request.user)  # type: ignore[arg-type]
    except RunStartError as exc:
        for problem in exc.problems:
            messages.error(request, problem)
        return redirect(f"{entity_url(entity.ref)}?tab=environments")
    messages.success(request, f"Adding {environment}: run #{run.pk} creates it.")
    return redirect("runs:run-detail", run.pk)


@require_http_methods(["GET", "POST"])
def component_decommission(request: HttpRequest) -> HttpResponse:
    """Decommission a service (its team): the plan, then the name typed to confirm."""
    ref = request.POST.get("ref") or request.GET.get("ref", "")
    entity = Entity.objects.filter(ref=ref, kind__iexact="component").first()
    if entity is None or not may_change_service(request.user, entity):
        raise Http404("No such component")
    problems: list[str] = []
    if request.method == "POST":
        try:
            run = start_decommission(entity=entity, actor=request.user,  # type: ignore[arg-type]
                                     confirm=request.POST.get("confirm", ""))  # fmt: skip
        except RunStartError as exc:
            problems = exc.problems
        else:
            messages.success(request, f"Decommissioning {entity.name}: run #{run.pk} does it.")
            return redirect("runs:run-detail", run.pk)
    return render_page(
        request,
        "scaffolder/component_decommission.html",
        {"entity": entity, "entity_page": entity_url(entity.ref), "problems": problems,
         "plan": decommission_plan(entity)},
        status=422 if problems else 200,
    )  # fmt: skip
