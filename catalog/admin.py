from django.contrib import admin

from catalog.models import Entity, Relation


class RelationInline(admin.TabularInline):  # type: ignore[type-arg]
    model = Relation
    fk_name = "source"
    fields = ("type", "target_ref", "target")
    raw_id_fields = ("target",)
    extra = 0


@admin.register(Entity)
class EntityAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("ref", "kind", "spec_type", "lifecycle", "owner_ref", "user", "updated_at")
    list_filter = ("kind", "spec_type", "lifecycle")
    search_fields = ("name", "title", "description", "owner_ref")
    list_select_related = ("user",)
    raw_id_fields = ("user",)
    readonly_fields = ("ref",)
    inlines = [RelationInline]


@admin.register(Relation)
class RelationAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("source", "type", "target_ref", "target")
    list_filter = ("type",)
    search_fields = ("source__name", "target_ref")
    list_select_related = ("source", "target")
    raw_id_fields = ("source", "target")
