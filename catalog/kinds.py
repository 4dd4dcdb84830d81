"""Kinds the platform team registered in admin (ExtraKind), as validation schemas."""

from __future__ import annotations

from django.db import DatabaseError

from catalog.jsonschemas import KindSchema, extra_kind


def extra_kind_schemas() -> dict[str, KindSchema]:
    """Registered extra kinds; empty when the database is unreachable (validate still works)."""
    from catalog.models import ExtraKind

    try:
        rows = list(ExtraKind.objects.all())
    except DatabaseError:
        return {}
    schemas = {}
    for row in rows:
        versions = tuple(v.strip() for v in row.api_versions.split(",") if v.strip())
        required = [f.strip() for f in row.required_spec_fields.split(",") if f.strip()]
        schemas[row.kind] = extra_kind(row.kind, versions, required, row.description)
    return schemas
