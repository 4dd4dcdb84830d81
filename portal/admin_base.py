"""The one read-only admin base: history and evidence (audit events, runs, metrics events) are
read in the admin, never added, edited or deleted there."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest


class ReadOnlyAdminMixin:
    """For a ModelAdmin or an inline: no add, change or delete buttons, whatever the user's
    model permissions say. Deleting would skip the services' bookkeeping (audit rows, rollups)."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnlyModelAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    """A read-only ModelAdmin."""
