"""The platform team's view of runs: history, read-only."""

from __future__ import annotations

from django.contrib import admin

from portal.admin_base import ReadOnlyAdminMixin
from runs.models import Run, RunLogLine, Step


class StepInline(ReadOnlyAdminMixin, admin.TabularInline):  # type: ignore[type-arg]
    model = Step
    fields = ("position", "key", "kind", "status", "attempt", "started_at", "finished_at", "error")
    readonly_fields = fields
    extra = 0


@admin.register(Run)
class RunAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = (
        "id",
        "title",
        "kind",
        "status",
        "requested_by",
        "owner_ref",
        "created_at",
        "finished_at",
    )
    list_filter = ("status", "kind", "created_at")
    search_fields = ("title", "subject", "owner_ref", "requested_by__username")
    list_select_related = ("requested_by",)
    date_hierarchy = "created_at"
    inlines = [StepInline]


@admin.register(RunLogLine)
class RunLogLineAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("run", "seq", "level", "message", "created_at")
    list_filter = ("level",)
    search_fields = ("message",)
    list_select_related = ("run",)
    show_full_result_count = False
