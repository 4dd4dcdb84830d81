"""Thin Celery tasks around catalog services (refresh loop, push webhook, orphan cleanup)."""

from __future__ import annotations

from celery import shared_task

from catalog import services
from catalog.models import Location


@shared_task(name="catalog.refresh_locations", acks_late=True)
def refresh_locations() -> int:
    """Beat: re-read every location (PAVED_CATALOG_REFRESH_MINUTES)."""
    return len(services.refresh_all_locations())


@shared_task(name="catalog.refresh_location", acks_late=True)
def refresh_location(location_id: int) -> str:
    location = Location.objects.filter(pk=location_id).first()
    if location is None:
        return "gone"
    result = services.refresh_location(location=location)
    return f"+{result.added} ~{result.updated} ={result.unchanged} !{result.invalid}"


@shared_task(name="catalog.delete_orphans", acks_late=True)
def delete_orphans() -> int:
    return services.delete_orphans()
