"""Infrastructure pages: requests, the request form with live preview, day-2 actions,
approvals inbox and team costs. Thin: parse, authorize, call a service or query, render."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from infra import services
from infra.crossplane import render_claim, render_connection_external_secret, to_yaml
from infra.forms import DecisionForm, DeleteForm, RequestForm, ResizeForm, TierForm
from infra.models import Approval, Approvers, RequestStatus, ResourceRequest, TeamLead
from infra.queries import (
    approvals_for_decider,
    approvals_waiting_for_team,
    events_for_request,
    request_for_detail,
    requests_for_list,
    runs_for_request,
    team_costs,
    visible_requests,
    wiring_for_request,
)
from infra.services import ActionDenied, change_denied_reason, decide_denied_reason
from infra.validation import Problem, RequestInvalid
from portal.htmx import is_partial, render_page

PAGE_SIZE = 25
NAV = {"nav_section": "infra"}


@require_GET
def request_list(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "active")
    if status not in ("", "active", *RequestStatus.values):
        status = "active"
    show_all = request.GET.get("scope") == "all"
    page = Paginator(
        requests_for_list(request.user, status=status, show_all=show_all), PAGE_SIZE
    ).get_page(request.GET.get("page"))
    return render_page(
        request,
        "infra/request_list.html",
        {
            **NAV,
            "page": page,
            "status": status,
            "show_all": show_all,
            "statuses": RequestStatus.choices,
            "to_decide": approvals_for_decider(request.user).count(),
        },
        partial="request-table",
    )


def _form_context(form: RequestForm, checked: Any = None) -> dict[str, Any]:
    return {
        **NAV,
        "form": form,
        "checked": checked,
        "claim_yaml": to_yaml(checked.claim) if checked is not None else "",
    }


@require_http_methods(["GET", "POST"])
def request_create(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        initial = {k: v for k, v in request.GET.items() if k in ("component", "environment")}
        form = RequestForm(
            user=request.user, class_name=request.GET.get("resource_class", ""), initial=initial
        )
        return render_page(
            request, "infra/request_form.html", _form_context(form), partial="request-form"
        )
    form = RequestForm(request.POST, user=request.user)
    if form.is_valid():
        try:
            req = services.submit_request(spec=form.to_spec(), actor=request.user)  # type: ignore[arg-type]
        except RequestInvalid as exc:
            form.add_problems(exc)
        else:
            messages.success(request, f"Requested {req.name}: {req.get_status_display().lower()}.")
            url = reverse("infra:request-detail", args=[req.pk])
            if is_partial(request):
                return HttpResponseClientRedirect(url)
            return redirect(url)
    return render_page(
        request,
        "infra/request_form.html",
        _form_context(form),
        partial="request-form",
        status=422,
    )


@require_POST
def request_preview(request: HttpRequest) -> HttpResponse:
    """The live preview: the claim YAML and monthly cost, or what is still wrong."""
    form = RequestForm(request.POST, user=request.user)
    class_changed = request.POST.get("shown_class") != (
        form.chosen_class.name if form.chosen_class else ""
    )
    if class_changed:
        form = RequestForm.with_class_defaults(request.POST, user=request.user)
    # Live previews (htmx, on change) stay quiet about fields not filled in yet; a click on
    # "Update preview" says what is still missing.
    asked = request.POST.get("action") == "preview"
    checked = None
    if form.is_valid():
        try:
            checked = services.preview_request(spec=form.to_spec(), actor=request.user)
        except RequestInvalid as exc:
            form.add_problems(exc, skip_required=not asked)
    context = _form_context(form, checked)
    context["class_changed"] = class_changed
    context["asked"] = asked
    return render_page(request, "infra/request_form.html", context, partial="preview-update")


def _visible_or_404(request: HttpRequest, pk: int) -> ResourceRequest:
    req = request_for_detail(request.user, pk)
    if req is None:
        raise Http404("No such request")
    return req


def _detail_context(request: HttpRequest, req: ResourceRequest, **extra: Any) -> dict[str, Any]:
    pending = req.approvals.filter(status="pending").select_related("requested_by").first()
    rc = req.resource_class
    claim = render_claim(
        rc,
        name=req.name,
        namespace=req.namespace,
        parameters=req.parameters,
        provider=req.provider,
        environment=req.environment,
    )
    tiers = list(
        rc.tiers.filter(provider=req.provider, environment=req.environment).order_by("monthly_cost")
    )
    runs = runs_for_request(request.user, req)
    return {
        **NAV,
        "req": req,
        "rc": rc,
        "claim_yaml": to_yaml(claim),
        "connection_yaml": to_yaml(
            render_connection_external_secret(
                name=req.name,
                namespace=req.namespace,
                environment=req.environment,
                store=settings.PAVED_CLUSTER_SECRET_STORE,
            )
        ),
        "runs": runs,
        # History links only the runs the user may open (a team lead may not be a member).
        "run_ids": {run.pk for run in runs},
        "events": events_for_request(req),
        "pending": pending,
        "can_decide": pending is not None and decide_denied_reason(request.user, pending) is None,
        # A lead-only approval with no lead named would wait forever: say so.
        "no_lead": pending is not None
        and pending.approvers == Approvers.TEAM_LEAD
        and not TeamLead.objects.filter(group_ref=req.owner_ref).exists(),
        "can_change": change_denied_reason(request.user, req) is None,
        # Committing to the GitOps repository is where this Paved stops when it drives no cluster.
        "cluster_connected": settings.PAVED_CLUSTER_PROVIDER != "gitops",
        "wiring": wiring_for_request(req),
        "tiers": tiers,
        "storage_parameter": rc.storage_parameter,
        "errors": {},
        "confirm_delete": False,
        **extra,
    }


@require_GET
def request_detail(request: HttpRequest, pk: int) -> HttpResponse:
    req = _visible_or_404(request, pk)
    return render_page(request, "infra/request_detail.html", _detail_context(request, req))


def _after(request: HttpRequest, req: ResourceRequest) -> HttpResponse:
    url = reverse("infra:request-detail", args=[req.pk])
    if is_partial(request):
        return HttpResponseClientRedirect(url)
    return redirect(url)


def _invalid(
    request: HttpRequest, req: ResourceRequest, form_name: str, exc: RequestInvalid, **extra: Any
) -> HttpResponse:
    errors = {
        form_name: [str(p) if p.field in ("request", "quota") else p.message for p in exc.problems]
    }
    return render_page(
        request,
        "infra/request_detail.html",
        _detail_context(request, req, errors=errors, **extra),
        status=422,
    )


def _require_change(request: HttpRequest, req: ResourceRequest) -> None:
    reason = change_denied_reason(request.user, req)
    if reason:
        raise PermissionDenied(reason)


@require_POST
def request_resize(request: HttpRequest, pk: int) -> HttpResponse:
    req = _visible_or_404(request, pk)
    _require_change(request, req)
    form = ResizeForm(request.POST)
    try:
        if not form.is_valid():
            raise RequestInvalid([Problem("size", "enter a whole number")])
        services.resize_request(request=req, actor=request.user, size=form.cleaned_data["size"])  # type: ignore[arg-type]
    except RequestInvalid as exc:
        return _invalid(request, req, "resize", exc)
    except ActionDenied as exc:
        raise PermissionDenied(str(exc)) from exc
    messages.success(request, "Resize requested.")
    return _after(request, req)


@require_POST
def request_change_tier(request: HttpRequest, pk: int) -> HttpResponse:
    req = _visible_or_404(request, pk)
    _require_change(request, req)
    form = TierForm(request.POST)
    try:
        if not form.is_valid():
            raise RequestInvalid([Problem("tier", "choose a tier")])
        services.change_tier(request=req, actor=request.user, tier=form.cleaned_data["tier"])  # type: ignore[arg-type]
    except RequestInvalid as exc:
        return _invalid(request, req, "tier", exc)
    except ActionDenied as exc:
        raise PermissionDenied(str(exc)) from exc
    messages.success(request, "Tier change requested.")
    return _after(request, req)


@require_POST
def request_protection(request: HttpRequest, pk: int) -> HttpResponse:
    req = _visible_or_404(request, pk)
    _require_change(request, req)
    enabled = request.POST.get("enabled") == "on"
    services.set_deletion_protection(request=req, actor=request.user, enabled=enabled)  # type: ignore[arg-type]
    messages.success(request, f"Deletion protection is {'on' if enabled else 'off'}.")
    return _after(request, req)


@require_http_methods(["GET", "POST"])
def request_delete(request: HttpRequest, pk: int) -> HttpResponse:
    """Two steps: the first shows what will be deleted and asks for the name; the second
    (POST with `confirm`) deletes."""
    req = _visible_or_404(request, pk)
    _require_change(request, req)
    if request.method == "GET" or "confirm" not in request.POST:
        return render_page(
            request, "infra/request_detail.html", _detail_context(request, req, confirm_delete=True)
        )
    form = DeleteForm(request.POST)
    form.is_valid()
    try:
        services.delete_request(
            request=req,
            actor=request.user,  # type: ignore[arg-type]
            confirm=form.cleaned_data.get("confirm", ""),
        )
    except RequestInvalid as exc:
        return _invalid(request, req, "delete", exc, confirm_delete=True)
    except ActionDenied as exc:
        raise PermissionDenied(str(exc)) from exc
    messages.success(request, f"Deletion of {req.name} requested.")
    return _after(request, req)


@require_POST
def request_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    req = _visible_or_404(request, pk)
    _require_change(request, req)
    try:
        services.cancel_request(request=req, actor=request.user)  # type: ignore[arg-type]
    except RequestInvalid as exc:
        return _invalid(request, req, "cancel", exc)
    except ActionDenied as exc:
        raise PermissionDenied(str(exc)) from exc
    messages.success(request, "Withdrawn.")
    return _after(request, req)


@require_GET
def approval_list(request: HttpRequest) -> HttpResponse:
    return render_page(
        request,
        "infra/approval_list.html",
        {
            **NAV,
            "to_decide": list(approvals_for_decider(request.user)),
            "waiting": list(approvals_waiting_for_team(request.user)),
        },
    )


@require_POST
def approval_decide(request: HttpRequest, pk: int) -> HttpResponse:
    approval = (
        Approval.objects.select_related("request", "request__resource_class")
        .filter(pk=pk, request__in=visible_requests(request.user))
        .first()
    )
    if approval is None:
        raise Http404("No such approval")
    reason = decide_denied_reason(request.user, approval)
    if reason:
        raise PermissionDenied(reason)
    form = DecisionForm(request.POST)
    req = approval.request
    try:
        if not form.is_valid():
            raise RequestInvalid([Problem("decision", "choose approve or reject")])
        comment = form.cleaned_data.get("comment", "")
        if form.cleaned_data["decision"] == "approve":
            services.approve_request(approval=approval, actor=request.user, comment=comment)  # type: ignore[arg-type]
            messages.success(request, f"Approved; {req.name} is being applied.")
        else:
            services.reject_request(approval=approval, actor=request.user, comment=comment)  # type: ignore[arg-type]
            messages.success(request, f"Rejected {req.name}.")
    except RequestInvalid as exc:
        return _invalid(request, req, "decision", exc)
    except ActionDenied as exc:
        raise PermissionDenied(str(exc)) from exc
    return _after(request, req)


@require_GET
def cost_list(request: HttpRequest) -> HttpResponse:
    return render_page(request, "infra/team_costs.html", {**NAV, "teams": team_costs(request.user)})
