"""Read side of templates: ready-to-render querysets for the "Create" pages."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import (
    BooleanField,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
)

from catalog.models import Entity
from scaffolder.models import TemplatePublication


def templates_for_list(
    query: str = "", *, user: User | AnonymousUser | None = None
) -> list[Entity]:
    """Template entities for the "Create" page: recommended first, then by title; `query`
    matches title, name, description and tags. With `user`, templates limited to other teams
    are left out."""
    templates = Entity.objects.filter(kind__iexact="template").only(
        "kind", "namespace", "name", "ref", "title", "description", "tags", "owner_ref",
        "spec_type", "metadata",
    )  # fmt: skip
    if query:
        templates = templates.filter(
            Q(title__icontains=query)
            | Q(name__icontains=query)
            | Q(description__icontains=query)
            | Q(tags__icontains=query)
        )
    rows: list[Entity] = list(
        templates.annotate(
            _published=Exists(TemplatePublication.objects.filter(entity_id=OuterRef("pk"))),
            _location_approved=ExpressionWrapper(
                Q(location__approved_at__isnull=False), output_field=BooleanField()
            ),
            _registered_by=F("location__created_by_id"),
        )
    )
    if user is not None:
        from scaffolder.permissions import can_use_template

        rows = [row for row in rows if can_use_template(user, row)]
    rows.sort(key=lambda e: ("recommended" not in (e.tags or []), (e.title or e.name).lower()))
    return rows


def template_entity(namespace: str, name: str) -> Entity | None:
    return Entity.objects.filter(
        kind__iexact="template", ref=f"template:{namespace}/{name}".lower()
    ).first()
