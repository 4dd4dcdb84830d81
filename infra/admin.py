"""The platform team's side: classes, tiers, compositions and policies; requests read-mostly."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse

from infra.crossplane import (
    export_composition,
    render_composition,
    render_function,
    render_xrd,
    to_yaml,
)
from infra.models import (
    Approval,
    Composition,
    Policy,
    RequestEvent,
    RequestObject,
    ResourceClass,
    ResourceRequest,
    TeamLead,
    Tier,
)
from portal.admin_base import ReadOnlyAdminMixin


class TierInline(admin.TabularInline):  # type: ignore[type-arg]
    model = Tier
    extra = 0
    fields = (
        "provider",
        "environment",
        "name",
        "settings",
        "deletion_protection",
        "monthly_cost",
        "monthly_cost_per_gb",
    )


@admin.action(description="Export for Crossplane v2 (XRD, Pipeline Compositions, Function)")
def export_yaml(
    modeladmin: Any, request: HttpRequest, queryset: QuerySet[ResourceClass]
) -> HttpResponse:
    # The same files as `infra export-crossplane` (Crossplane v2), in one stream.
    docs: list[str] = [to_yaml(render_function())]
    for rc in queryset.prefetch_related("compositions"):
        docs.append(to_yaml(render_xrd(rc)))
        docs.extend(to_yaml(export_composition(c, target="v2")) for c in rc.compositions.all())
    response = HttpResponse("---\n".join(docs), content_type="application/yaml")
    response["Content-Disposition"] = 'attachment; filename="crossplane.yaml"'
    return response


@admin.register(ResourceClass)
class ResourceClassAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("name", "title", "api_version_display", "kind", "crossplane_version", "enabled")
    list_filter = ("crossplane_version", "enabled")
    search_fields = ("name", "title", "group", "kind")
    inlines = [TierInline]
    actions = [export_yaml]

    @admin.display(description="API version")
    def api_version_display(self, obj: ResourceClass) -> str:
        return obj.api_version


@admin.register(Composition)
class CompositionAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("name", "resource_class", "provider", "environment", "mode")
    list_filter = ("provider", "environment", "mode")
    search_fields = ("name", "resource_class__name")
    list_select_related = ("resource_class",)
    readonly_fields = ("exported_yaml",)

    @admin.display(description="Exported YAML")
    def exported_yaml(self, obj: Composition) -> str:
        return to_yaml(render_composition(obj)) if obj.pk else ""


@admin.register(Tier)
class TierAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = (
        "resource_class",
        "provider",
        "environment",
        "name",
        "monthly_cost",
        "monthly_cost_per_gb",
    )
    list_filter = ("provider", "environment", "name")
    search_fields = ("resource_class__name", "name")
    list_select_related = ("resource_class",)


@admin.register(Policy)
class PolicyAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("environment", "team_ref", "requires_approval", "approvers",
                    "max_resources_per_team", "max_storage_gb_per_team")  # fmt: skip
    list_filter = ("environment", "requires_approval")
    search_fields = ("environment", "team_ref")


@admin.register(TeamLead)
class TeamLeadAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("group_ref", "user")
    search_fields = ("group_ref", "user__username")
    list_select_related = ("user",)


class EventInline(admin.TabularInline):  # type: ignore[type-arg]
    model = RequestEvent
    extra = 0
    fields = ("created_at", "action", "actor", "message", "run_id")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class HeldObjectInline(ReadOnlyAdminMixin, admin.TabularInline):  # type: ignore[type-arg]
    """The names the request holds; nobody edits them (the services and steps do)."""

    model = RequestObject
    extra = 0
    fields = ("what", "path", "written", "created_at")
    readonly_fields = fields


@admin.register(ResourceRequest)
class ResourceRequestAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Requests change through the portal's services (runs, approvals); here they are read."""

    list_display = ("name", "resource_class", "namespace", "environment", "owner_ref", "status",
                    "monthly_cost", "fulfilled_without_human", "created_at")  # fmt: skip
    list_filter = ("status", "environment", "resource_class")
    search_fields = ("name", "namespace", "owner_ref", "component_ref")
    list_select_related = ("resource_class",)
    inlines = [EventInline, HeldObjectInline]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(Approval)
class ApprovalAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("request", "action", "status", "approvers", "decided_by", "created_at")
    list_filter = ("status", "action")
    search_fields = ("request__name",)
    list_select_related = ("request", "request__resource_class", "decided_by")

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
