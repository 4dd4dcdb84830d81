"""Every change the platform team makes in Django admin (templates, tiers, policies, scorecards,
tokens, ...) also lands in the audit trail, from admin's own LogEntry."""

from __future__ import annotations

from typing import Any

from django.contrib.admin.models import ADDITION, CHANGE, DELETION, LogEntry
from django.db.models.signals import post_save

from portal import audit

_ACTIONS = {ADDITION: "added", CHANGE: "changed", DELETION: "deleted"}


def _record_admin_change(sender: Any, instance: LogEntry, created: bool, **kwargs: Any) -> None:
    if not created:
        return
    content_type = instance.content_type
    target_type = f"{content_type.app_label}.{content_type.model}" if content_type else "admin"
    audit.record(
        actor=instance.user,
        action=f"admin.{_ACTIONS.get(instance.action_flag, 'changed')}",
        target_type=target_type,
        target_id=instance.object_id or "",
        target_label=instance.object_repr,
        summary=instance.get_change_message(),
    )


def connect() -> None:
    post_save.connect(_record_admin_change, sender=LogEntry, dispatch_uid="paved-admin-audit")
