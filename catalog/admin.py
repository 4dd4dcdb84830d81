"""Admin for the platform team: entities (read mostly), locations, extra kinds, and every API
and integration token."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse

from catalog.models import ApiToken, Entity, ExtraKind, Location, ObservabilityLink, Relation
from catalog.services import approve_location, refresh_location, remove_location
from catalog.tokens import issue, revoke_token
from portal.admin_tokens import remember_plain_token, token_created_response


class RelationInline(admin.TabularInline):  # type: ignore[type-arg]
    model = Relation
    fk_name = "source"
    fields = ("type", "target_ref", "target")
    raw_id_fields = ("target",)
    extra = 0


class HasErrors(admin.SimpleListFilter):
    title = "processing errors"
    parameter_name = "errors"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "With errors"), ("no", "Without errors")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Entity]) -> QuerySet[Entity]:
        if self.value() == "yes":
            return queryset.exclude(processing_errors=[])
        if self.value() == "no":
            return queryset.filter(processing_errors=[])
        return queryset


class Orphaned(admin.SimpleListFilter):
    title = "orphaned"
    parameter_name = "orphaned"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "Orphaned"), ("no", "Not orphaned")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Entity]) -> QuerySet[Entity]:
        if self.value() == "yes":
            return queryset.filter(orphaned_at__isnull=False)
        if self.value() == "no":
            return queryset.filter(orphaned_at__isnull=True)
        return queryset


@admin.register(Entity)
class EntityAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("ref", "kind", "spec_type", "lifecycle", "owner_ref", "location", "orphaned_at",
                    "user", "updated_at")  # fmt: skip
    list_filter = ("kind", "spec_type", "lifecycle", HasErrors, Orphaned, "location")
    search_fields = ("name", "title", "description", "owner_ref", "ref")
    list_select_related = ("user", "location")
    raw_id_fields = ("user", "location")
    readonly_fields = ("ref", "etag", "source", "processing_errors", "search_text")
    inlines = [RelationInline]


@admin.register(Relation)
class RelationAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("source", "type", "target_ref", "target", "origin")
    list_filter = ("type",)
    search_fields = ("source__name", "target_ref")
    list_select_related = ("source", "target", "origin")
    raw_id_fields = ("source", "target", "origin")


class ApprovalFilter(admin.SimpleListFilter):
    title = "templates"
    parameter_name = "approval"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("waiting", "Waiting for approval"), ("approved", "Approved")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Location]) -> QuerySet[Location]:
        if self.value() == "waiting":
            return queryset.filter(approved_at__isnull=True)
        if self.value() == "approved":
            return queryset.filter(approved_at__isnull=False)
        return queryset


@admin.register(Location)
class LocationAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("target", "type", "entity_count", "last_refreshed_at", "has_errors",
                    "created_by", "templates_approved")  # fmt: skip
    list_filter = ("type", ApprovalFilter)
    search_fields = ("target",)
    list_select_related = ("created_by",)
    readonly_fields = ("errors", "entity_count", "last_refreshed_at", "created_at",
                       "approved_by", "approved_at")  # fmt: skip
    raw_id_fields = ("created_by",)
    actions = ["refresh_now", "approve_templates"]

    def delete_model(self, request: HttpRequest, obj: Location) -> None:
        # Its entities go with it: left without a location they would read as saved in Paved.
        remove_location(location=obj, actor=request.user)  # type: ignore[arg-type]

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Location]) -> None:
        for location in queryset:
            remove_location(location=location, actor=request.user)  # type: ignore[arg-type]

    @admin.display(boolean=True, description="templates approved")
    def templates_approved(self, obj: Location) -> bool:
        return obj.is_approved

    @admin.action(description="Approve its templates for everyone")
    def approve_templates(self, request: HttpRequest, queryset: QuerySet[Location]) -> None:
        count = 0
        for location in queryset.filter(approved_at__isnull=True):
            approve_location(location=location, actor=request.user)  # type: ignore[arg-type]
            count += 1
        self.message_user(request, f"Approved the templates of {count} location(s).")

    @admin.display(boolean=True, description="errors")
    def has_errors(self, obj: Location) -> bool:
        return bool(obj.errors)

    @admin.action(description="Refresh now")
    def refresh_now(self, request: HttpRequest, queryset: QuerySet[Location]) -> None:
        for location in queryset:
            result = refresh_location(location=location)
            self.message_user(
                request,
                f"{location}: added {result.added}, updated {result.updated}, unchanged "
                f"{result.unchanged}, invalid {result.invalid}, {len(result.errors)} errors",
                messages.WARNING if result.errors else messages.SUCCESS,
            )


@admin.register(ExtraKind)
class ExtraKindAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("kind", "api_versions", "required_spec_fields", "created_at")
    search_fields = ("kind", "description")
    list_select_related = ()


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Every API and integration token, in one place. Adding one shows the plain value once;
    only its hash is stored. Revoke with the action; a revoked token stays listed."""

    list_display = (
        "name", "scope", "user", "prefix", "can_write", "created_at", "created_by",
        "last_used_at", "revoked_at",
    )  # fmt: skip
    list_filter = ("scope", "can_write", ("revoked_at", admin.EmptyFieldListFilter))
    search_fields = ("name", "user__username", "prefix")
    list_select_related = ("user", "created_by")
    raw_id_fields = ("user",)
    readonly_fields = ("prefix", "created_by", "last_used_at", "revoked_at")
    actions = ["revoke"]

    def get_fields(self, request: HttpRequest, obj: ApiToken | None = None) -> tuple[str, ...]:
        if obj is None:
            return ("name", "scope", "user", "can_write")
        return ("name", "scope", "user", "can_write", *self.readonly_fields)

    def get_readonly_fields(
        self, request: HttpRequest, obj: ApiToken | None = None
    ) -> tuple[str, ...]:
        # Who a token acts as and what it opens are fixed when it is issued.
        if obj is None:
            return ()
        return ("scope", "user", *self.readonly_fields)

    def save_model(self, request: HttpRequest, obj: ApiToken, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        remember_plain_token(obj, issue(obj, actor=request.user))

    def response_add(
        self, request: HttpRequest, obj: ApiToken, post_url_continue: str | None = None
    ) -> HttpResponse:
        usage = (
            "the catalog API (/api/catalog/)"
            if obj.scope == ApiToken.Scope.CATALOG
            else "/api/metrics/events"
        )
        shown = token_created_response(
            self, request, obj, usage=f"Send it as 'Authorization: Bearer <token>' to {usage}."
        )
        return shown or super().response_add(request, obj, post_url_continue)

    @admin.action(description="Revoke selected tokens")
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        for token in queryset:
            revoke_token(token=token, actor=request.user)
        messages.success(request, f"Revoked {queryset.count()} token(s).")


@admin.register(ObservabilityLink)
class ObservabilityLinkAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Link patterns shown on every component page (docs/catalog.md, "Observability links");
    saving checks the placeholders (ObservabilityLink.clean)."""

    list_display = ("title", "kind", "enabled", "position", "url_pattern")
    list_editable = ("enabled", "position")
    list_filter = ("enabled", "kind")
    search_fields = ("title", "url_pattern")
