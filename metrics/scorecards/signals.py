"""Re-evaluate a component at once when it is saved one at a time (admin, API, scaffolder).

Bulk catalog ingestion bypasses signals; it bumps Entity.updated_at, which the beat job's dirty
check (services.dirty_components) picks up within PAVED_SCORECARD_INTERVAL seconds."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_save
from django.dispatch import receiver

from catalog.models import Entity
from metrics.scorecards.services import on_component_saved


@receiver(post_save, sender=Entity, dispatch_uid="scorecards-component-saved")
def component_saved(sender: Any, instance: Entity, **kwargs: Any) -> None:
    on_component_saved(instance)
