"""Admin: the platform team defines scorecards, levels and checks; results are read-only."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest

from metrics.scorecards.models import Check, Level, Scorecard, ScorecardResult
from metrics.scorecards.rules import rule_choices


class CheckForm(forms.ModelForm):  # type: ignore[type-arg]
    rule = forms.ChoiceField(choices=rule_choices)

    class Meta:
        model = Check
        fields = [
            "scorecard", "level", "key", "title", "rule", "params", "fix_text", "fix_url", "order",
        ]  # fmt: skip


class LevelInline(admin.TabularInline):  # type: ignore[type-arg]
    model = Level
    extra = 0


class CheckInline(admin.StackedInline):  # type: ignore[type-arg]
    model = Check
    form = CheckForm
    extra = 0


@admin.register(Scorecard)
class ScorecardAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("name", "active", "updated_at")
    inlines = [LevelInline, CheckInline]

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        form.instance.touch()  # definition changed: the beat job re-evaluates everything


@admin.register(ScorecardResult)
class ScorecardResultAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("component", "scorecard", "level_name", "passed", "total", "evaluated_at")
    list_filter = ("scorecard", "current", "level_name")
    search_fields = ("component__name",)
    list_select_related = ("component", "scorecard")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
