"""Admin for the platform team: raw events for inspection, normalized rows (read-mostly),
survey answers, reports. Integration tokens are API tokens (catalog admin, scope "metrics
events")."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from metrics.models import (
    Change,
    DailyActiveUser,
    DailyRollup,
    Deployment,
    DeploymentCommit,
    DirtyDay,
    Incident,
    RawEvent,
    SurveyResponse,
    WeeklyReport,
)
from metrics.relinking import relink_unlinked
from portal.admin_base import ReadOnlyModelAdmin

# Metrics rows are records, not settings: deleting one here would skip the rollup and attribution
# bookkeeping (and forget a delivery id, so a replay would be stored again), hence read-only.


@admin.register(RawEvent)
class RawEventAdmin(ReadOnlyModelAdmin):
    list_display = ("received_at", "source", "event_type", "delivery_id", "status", "error")
    list_filter = ("status", "source")
    search_fields = ("delivery_id", "event_type", "error")
    date_hierarchy = "received_at"


@admin.action(description="Try to link unlinked events to catalog components again")
def relink(modeladmin: Any, request: HttpRequest, queryset: QuerySet[Any]) -> None:
    n = relink_unlinked(actor=request.user)
    messages.success(request, f"Linked {n} rows.")


@admin.register(Deployment)
class DeploymentAdmin(ReadOnlyModelAdmin):
    list_display = (
        "finished_at",
        "component_name",
        "environment",
        "status",
        "is_rollback",
        "is_hotfix",
        "component",
        "source",
    )
    list_filter = ("environment", "status", "source", "is_rollback", "is_hotfix")
    search_fields = ("external_id", "component_name", "commit_sha")
    list_select_related = ("component",)
    raw_id_fields = ("component", "undone_by", "raw")
    actions = [relink]


@admin.register(Change)
class ChangeAdmin(ReadOnlyModelAdmin):
    list_display = ("sha", "component_name", "committed_at", "first_prod_deployed_at")
    search_fields = ("sha", "component_name")
    list_select_related = ("component",)
    raw_id_fields = ("component", "first_prod_deployment")


@admin.register(DeploymentCommit)
class DeploymentCommitAdmin(ReadOnlyModelAdmin):
    list_display = ("deployment", "change", "inferred")
    list_select_related = ("deployment", "change")
    search_fields = ("change__sha", "deployment__external_id")
    raw_id_fields = ("deployment", "change")


@admin.register(Incident)
class IncidentAdmin(ReadOnlyModelAdmin):
    list_display = (
        "external_id",
        "component_name",
        "started_at",
        "resolved_at",
        "attributed_deployment",
        "attributed_explicitly",
    )
    list_filter = ("source", "attributed_explicitly")
    search_fields = ("external_id", "component_name", "title")
    list_select_related = ("attributed_deployment", "component")
    raw_id_fields = ("component", "attributed_deployment")
    actions = [relink]


@admin.register(DailyRollup)
class DailyRollupAdmin(ReadOnlyModelAdmin):
    list_display = ("day", "scope", "environment", "deployments", "failed", "unplanned")
    list_filter = ("environment",)
    search_fields = ("scope",)


@admin.register(DirtyDay)
class DirtyDayAdmin(ReadOnlyModelAdmin):
    list_display = ("day", "component_key", "environment")
    search_fields = ("component_key",)


@admin.register(DailyActiveUser)
class DailyActiveUserAdmin(ReadOnlyModelAdmin):
    list_display = ("day", "user")
    list_select_related = ("user",)
    search_fields = ("user__username",)
    date_hierarchy = "day"


@admin.register(SurveyResponse)
class SurveyResponseAdmin(ReadOnlyModelAdmin):
    """Free-text answers are for the platform team: filter by quarter, read `improvement`."""

    list_display = ("quarter", "user", "score", "dismissed", "improvement", "created_at")
    list_filter = ("quarter", "dismissed", "score")
    list_select_related = ("user",)
    search_fields = ("improvement", "user__username")


@admin.register(WeeklyReport)
class WeeklyReportAdmin(ReadOnlyModelAdmin):
    list_display = ("week_start", "created_at", "slack_status")


from metrics.scorecards import admin as _scorecard_admin  # noqa: E402, F401  (registers its models)
