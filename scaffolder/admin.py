from __future__ import annotations

from pathlib import Path
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.http import HttpRequest

from portal.admin_base import ReadOnlyAdminMixin
from scaffolder.loader import TemplateInvalid, load_template_text
from scaffolder.models import Run, RunLogLine, Step, TemplateVersion
from scaffolder.services import save_template


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


class TemplateVersionForm(forms.ModelForm):  # type: ignore[type-arg]
    """Paste or edit a template; it is validated exactly as the loader does for runs."""

    class Meta:
        model = TemplateVersion
        fields = ("yaml_text", "base_dir")
        widgets = {"yaml_text": forms.Textarea(attrs={"rows": 30, "spellcheck": "false"})}

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        base_dir = data.get("base_dir") or ""
        if base_dir and not Path(base_dir).is_dir():
            self.add_error("base_dir", f"{base_dir} is not a folder on this server.")
        try:
            load_template_text(data.get("yaml_text") or "", source="template", base_dir=None)
        except TemplateInvalid as exc:
            self.add_error("yaml_text", forms.ValidationError(exc.lines()))
        return data


@admin.register(TemplateVersion)
class TemplateVersionAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """The platform team edits templates here: saving stores a new version (runs keep the one
    they used) and updates the catalog entity (kind=Template)."""

    form = TemplateVersionForm
    list_display = ("ref", "version", "created_at", "created_by")
    list_select_related = ("created_by",)
    search_fields = ("ref",)
    readonly_fields = ("ref", "version", "entity", "content_hash", "created_at", "created_by")

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # runs refer to versions

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        previous_pk = obj.pk
        version = save_template(
            yaml_text=form.cleaned_data["yaml_text"],
            base_dir=form.cleaned_data.get("base_dir") or "",
            actor=request.user,  # type: ignore[arg-type]
            source="admin",
        )
        for name in (
            "pk",
            "ref",
            "version",
            "entity_id",
            "content_hash",
            "created_at",
            "created_by_id",
            "definition",
        ):
            setattr(obj, name, getattr(version, name))
        obj._state.adding = False
        if change and version.pk != previous_pk:
            messages.info(request, f"Saved as a new version: {version}.")
