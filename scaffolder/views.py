"""Run pages: list, detail with a live log, cancel and retry."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect, HttpResponseStopPolling

from catalog.graph import entity_url
from catalog.models import Entity
from portal.health import recent_broker_problem
from portal.htmx import render_page
from scaffolder.day2 import (
    decommission_plan,
    may_change_service,
    start_add_environment,
    start_decommission,
)
from scaffolder.engine.runner import RunStartError, RunStateError, cancel_run, retry_run
from scaffolder.models import Run, RunStatus
from scaffolder.permissions import can_manage_run
from scaffolder.queries import log_lines_after, run_for_detail, runs_for_list
from scaffolder.undo import UNDOABLE, active_undo, created_by, describe, start_undo

PAGE_SIZE = 25


@require_GET
def run_list(request: HttpRequest) -> HttpResponse:
    mine = request.GET.get("scope", "mine") != "all"
    status = request.GET.get("status", "")
    if status and status not in RunStatus.values:
        status = ""
    page = Paginator(runs_for_list(request.user, mine=mine, status=status), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render_page(
        request,
        "scaffolder/run_list.html",
        {"page": page, "mine": mine, "status": status, "statuses": RunStatus.choices},
        partial="run-table",
    )


def _get_run(request: HttpRequest, run_id: int) -> Run:
    # Another team's run answers exactly like a run that does not exist.
    run = run_for_detail(request.user, run_id)
    if run is None:
        raise Http404("No such run")
    return run


def _progress(run: Run) -> dict[str, int]:
    steps = list(run.steps.all())
    done = sum(1 for s in steps if s.status in ("succeeded", "skipped"))
    total = len(steps) or 1
    return {"done": done, "total": len(steps), "percent": round(100 * done / total)}


QUEUED_MESSAGE = (
    "Run #{pk} is saved and queued, but Paved's workers can't be reached right now. It will "
    "start on its own when they can; there is no need to start it again."
)


def _workers_unreachable(run: Run) -> bool:
    """An active run waits for the workers; say so while the broker does not answer."""
    return not run.is_finished and recent_broker_problem() is not None


@require_GET
def run_detail(request: HttpRequest, run_id: int) -> HttpResponse:
    run = _get_run(request, run_id)
    lines = log_lines_after(run, 0, limit=2000)
    return render_page(
        request,
        "scaffolder/run_detail.html",
        {
            "run": run,
            "lines": lines,
            "last_seq": lines[-1].seq if lines else 0,
            "can_manage": can_manage_run(request.user, run),
            "progress": _progress(run),
            "can_undo": run.status in UNDOABLE
            and can_manage_run(request.user, run)
            and bool(created_by(run)),
            "workers_unreachable": _workers_unreachable(run),
        },
    )


@require_http_methods(["GET", "POST"])
def run_undo(request: HttpRequest, run_id: int) -> HttpResponse:
    """Undo what a failed run created: a page that lists it, then a confirmed POST."""
    run = _get_run(request, run_id)
    if not can_manage_run(request.user, run):
        raise Http404("No such run")
    records = created_by(run)
    problems: list[str] = []
    if request.method == "POST":
        if request.POST.get("confirm") != run.title:
            problems = ["Type the run's title exactly to confirm."]
        else:
            try:
                undo = start_undo(run, actor=request.user)  # type: ignore[arg-type]
            except RunStartError as exc:
                problems = exc.problems
            else:
                messages.success(request, f"Undoing run #{run.pk}: run #{undo.pk} removes it.")
                return redirect("scaffolder:run-detail", undo.pk)
    return render_page(
        request,
        "scaffolder/run_undo.html",
        {"run": run, "removes": [describe(r) for r in records], "problems": problems,
         "active": active_undo(run)},
        status=422 if problems else 200,
    )  # fmt: skip


@require_GET
def run_log(request: HttpRequest, run_id: int) -> HttpResponse:
    """New log lines after the cursor, plus the step list and poller as out-of-band swaps."""
    run = _get_run(request, run_id)
    try:
        after = max(0, int(request.GET.get("after", "0")))
    except ValueError:
        after = 0
    lines = log_lines_after(run, after)
    context = {
        "run": run,
        "lines": lines,
        "last_seq": lines[-1].seq if lines else after,
        "can_manage": can_manage_run(request.user, run),
        "progress": _progress(run),
        "workers_unreachable": _workers_unreachable(run),
        "oob": True,
    }
    response = render_page(request, "scaffolder/run_detail.html", context, partial="log-update")
    if run.is_finished and not lines:
        stop = HttpResponseStopPolling(response.content)
        stop["Vary"] = "HX-Request"
        return stop
    return response


def _after_action(request: HttpRequest, run: Run) -> HttpResponse:
    url = reverse("scaffolder:run-detail", args=[run.pk])
    if getattr(request, "htmx", False):
        return HttpResponseClientRedirect(url)
    return redirect(url)


@require_POST
def run_cancel(request: HttpRequest, run_id: int) -> HttpResponse:
    run = _get_run(request, run_id)
    if not can_manage_run(request.user, run):
        raise Http404("No such run")
    try:
        cancel_run(run, actor=request.user)  # type: ignore[arg-type]
        messages.success(request, f"Run #{run.pk} cancelled.")
    except RunStateError as exc:
        messages.error(request, str(exc))
    return _after_action(request, run)


@require_POST
def run_retry(request: HttpRequest, run_id: int) -> HttpResponse:
    run = _get_run(request, run_id)
    if not can_manage_run(request.user, run):
        raise Http404("No such run")
    try:
        step = retry_run(run, actor=request.user, from_step=request.POST.get("step") or None)  # type: ignore[arg-type]
        messages.success(request, f"Retrying run #{run.pk} from step '{step.name}'.")
    except RunStateError as exc:
        messages.error(request, str(exc))
    return _after_action(request, run)


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
    return redirect("scaffolder:run-detail", run.pk)


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
            return redirect("scaffolder:run-detail", run.pk)
    return render_page(
        request,
        "scaffolder/component_decommission.html",
        {"entity": entity, "entity_page": entity_url(entity.ref), "problems": problems,
         "plan": decommission_plan(entity)},
        status=422 if problems else 200,
    )  # fmt: skip
