"""Metrics pages: dashboard (org → team → component), unlinked events, survey, reports, ROI."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from metrics import platform, queries, relinking, survey
from metrics.charts import WIDE, bar_chart, line_chart
from metrics.component_tab import component_dora_summary
from metrics.models import WeeklyReport
from metrics.reports import report_lines
from metrics.roi import roi_context
from portal.auth.decorators import platform_admin_required
from portal.htmx import render_page

KEY_LABELS = {
    "deployment_frequency": "Deployment frequency",
    "lead_time": "Lead time for changes",
    "change_failure_rate": "Change failure rate",
    "recovery_time": "Failed deployment recovery time",
}


def _common(request: HttpRequest) -> tuple[queries.DashboardWindow, str]:
    queries.ensure_fresh()
    window = queries.parse_window(request.GET.get("window"), until=request.GET.get("until"))
    env = request.GET.get("env", "production").strip().lower() or "production"
    return window, env


def _charts(weeks: list[dict[str, Any]], env: str) -> list[Any]:
    return [
        bar_chart(f"Deployments per week ({env})", [(w["label"], w["deployments"]) for w in weeks]),
        line_chart(
            "Lead time for changes, weekly median",
            [(w["label"], w["lead_time_median_hours"]) for w in weeks],
            unit="h",
        ),
        line_chart(
            "Change failure rate, weekly",
            [(w["label"], w["change_failure_rate"]) for w in weeks],
            unit="%",
            top=1.0,
        ),
        line_chart(
            "Failed deployment recovery time, weekly median",
            [(w["label"], w["recovery_time_median_hours"]) for w in weeks],
            unit="h",
        ),
    ]


def _scope_page(
    request: HttpRequest, scope: str, title: str, extra: dict[str, Any]
) -> HttpResponse:
    window, env = extra.pop("_window"), extra.pop("_env")
    rows = queries.scope_rows(scope, window, env)
    weeks = queries.weekly_series(rows, window)
    ctx = {
        "nav_section": "metrics",
        "title": title,
        "window": window,
        "windows": queries.WINDOWS,
        "env": env,
        "environments": queries.environments(),
        "keys": queries.keys_from_rows(rows, window),
        # Carried on drill-down links so team and component pages keep the same window.
        "qs": urlencode(
            {"window": window.days, "env": env}
            | ({"until": window.until.isoformat()} if request.GET.get("until") else {})
        ),
        "key_labels": KEY_LABELS,
        "charts": _charts(weeks, env),
        **extra,
    }
    return render_page(request, "metrics/dashboard.html", ctx, partial="metrics-body")


@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    window, env = _common(request)
    return _scope_page(
        request,
        "org",
        "Organisation",
        {
            "_window": window,
            "_env": env,
            "level": "org",
            "groups": [
                dict(g, label=queries.team_name(g["name"]), slug=g["name"].rsplit("/", 1)[-1])
                for g in queries.grouped("team:", window, env)
            ],
            "group_kind": "team",
            "platform": _platform(window),
        },
    )


def _platform(window: queries.DashboardWindow) -> dict[str, Any]:
    dau = platform.daily_active_users(window.since, window.until)
    return {
        "adoption": platform.golden_path_adoption(),
        "self_service": platform.self_service_rate(window.since, window.until),
        "ttp": platform.template_time_to_production(window.since, window.until),
        "dau": dau,
        "dau_chart": bar_chart(
            "Portal daily active users",
            [(d.strftime("%d %b"), n) for d, n in dau["series"][-min(len(dau["series"]), 60) :]],
            width=WIDE,
        ),
        "satisfaction": survey.survey_results(survey.current_quarter()),
    }


@require_GET
def team(request: HttpRequest, team: str) -> HttpResponse:
    window, env = _common(request)
    refs = set(queries.components_of_team(team).values_list("owner_ref", flat=True))
    if not refs:
        raise Http404("No components are owned by this team.")
    owner_ref = sorted(refs)[0]
    return _scope_page(
        request,
        f"team:{owner_ref}",
        # "Orders Team" when the catalog names it; a team without a display name stays
        # recognisable as a team.
        queries.team_name(owner_ref) if queries.team_name(owner_ref) != team else f"Team {team}",
        {
            "_window": window,
            "_env": env,
            "level": "team",
            "team": team,
            "team_label": queries.team_name(owner_ref),
            "groups": [
                dict(g, label=g["name"])
                for g in queries.grouped("component:", window, env, owner_ref__in=refs)
            ],
            "group_kind": "component",
        },
    )


@require_GET
def component(request: HttpRequest, name: str) -> HttpResponse:
    window, env = _common(request)
    entity = queries.component_by_name(name)
    key = (entity.name if entity else name).lower()
    deployments = queries.recent_deployments(key)
    if entity is None and not deployments:
        raise Http404("No such component.")
    return _scope_page(
        request,
        f"component:{key}",
        f"Component {entity.name if entity else name}",
        {
            "_window": window,
            "_env": env,
            "level": "component",
            "entity": entity,
            "team": entity.owner_ref.rsplit("/", 1)[-1] if entity and entity.owner_ref else "",
            "team_label": queries.team_name(entity.owner_ref)
            if entity and entity.owner_ref
            else "",
            "deployments": deployments,
            "incidents": queries.recent_incidents(key),
        },
    )


@require_GET
def component_tab(request: HttpRequest, name: str) -> HttpResponse:
    """The catalog tab fragment, also reachable on its own (HTMX lazy-load)."""
    entity = queries.component_by_name(name)
    if entity is None:
        raise Http404("No such component.")
    ctx = {
        "dora": component_dora_summary(
            entity, window=request.GET.get("window"), until=request.GET.get("until")
        )
    }
    return render_page(request, "metrics/_component_tab.html", ctx)


@platform_admin_required("The unlinked events are for the platform team.")
@require_http_methods(["GET", "POST"])
def unlinked(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        linked = relinking.relink_unlinked(actor=request.user)
        messages.success(
            request,
            f"Linked {linked} event{'s' if linked != 1 else ''} to catalog components."
            if linked
            else "No event matches a catalog component yet: add the annotation first.",
        )
        return redirect("metrics:unlinked")
    return render_page(
        request,
        "metrics/unlinked.html",
        {"nav_section": "metrics", "groups": queries.unlinked_events()},
    )


@require_http_methods(["GET", "POST"])
def survey_page(request: HttpRequest) -> HttpResponse:
    quarter = survey.current_quarter()
    errors: dict[str, str] = {}
    if request.method == "POST":
        raw = request.POST.get("score", "").strip()
        improvement = request.POST.get("improvement", "")
        try:
            score = int(raw)
            if not 0 <= score <= 10:
                raise ValueError
        except ValueError:
            errors["score"] = "Choose a score from 0 to 10."
        if len(improvement) > 4000:
            errors["improvement"] = "Please keep it under 4,000 characters."
        if not errors:
            try:
                survey.answer_survey(actor=request.user, score=score, improvement=improvement)  # type: ignore[arg-type]
            except survey.AlreadyAnswered as exc:
                messages.info(request, str(exc).capitalize() + ".")
                return redirect("metrics:survey")
            messages.success(request, "Thank you! Your answer helps the platform team.")
            return redirect("home")
    ctx = {
        "nav_section": "metrics",
        "quarter": quarter,
        "offer": survey.should_offer_survey(request.user),
        "question_score": survey.QUESTION_SCORE,
        "question_improve": survey.QUESTION_IMPROVE,
        "scores": range(11),
        "errors": errors,
        "values": request.POST if request.method == "POST" else {},
    }
    return render_page(
        request, "metrics/survey.html", ctx, partial="survey-form", status=422 if errors else 200
    )


@require_POST
def survey_dismiss(request: HttpRequest) -> HttpResponse:
    survey.dismiss_survey(actor=request.user)  # type: ignore[arg-type]
    messages.info(request, "Survey dismissed. We'll ask again next quarter.")
    nxt = request.POST.get("next", "")
    # Only this site's paths: never another site (`//evil`, `/\\evil`, `https://evil`).
    local = nxt.startswith("/") and url_has_allowed_host_and_scheme(
        nxt, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return redirect(nxt if local else "home")


@platform_admin_required("Survey results are for the platform team.")
@require_GET
def survey_results_page(request: HttpRequest) -> HttpResponse:
    quarter = request.GET.get("quarter") or survey.current_quarter()
    results = survey.survey_results(quarter)
    return render_page(
        request,
        "metrics/survey_results.html",
        {
            "nav_section": "metrics",
            "results": results,
            "chart": bar_chart(
                f"Scores, {quarter}",
                [(str(i), n) for i, n in enumerate(results["distribution"])],
                width=WIDE,
            ),
            "answers": survey.improvement_answers(quarter),
        },
    )


@require_GET
def report_list(request: HttpRequest) -> HttpResponse:
    return render_page(
        request,
        "metrics/report_list.html",
        {"nav_section": "metrics", "reports": WeeklyReport.objects.all()[:52]},
    )


@require_GET
def report_detail(request: HttpRequest, week: str) -> HttpResponse:
    try:
        week_start = date.fromisoformat(week)
    except ValueError:
        raise Http404("Not a week.") from None
    report = get_object_or_404(WeeklyReport, week_start=week_start)
    return render_page(
        request,
        "metrics/report_detail.html",
        {"nav_section": "metrics", "report": report, "lines": report_lines(report)},
    )


@require_GET
def roi(request: HttpRequest) -> HttpResponse:
    ctx = roi_context(request.GET, today=timezone.now().date() - timedelta(days=0))
    ctx["nav_section"] = "metrics"
    return render_page(
        request, "metrics/roi.html", ctx, partial="roi-result", status=422 if ctx["errors"] else 200
    )
