"""PostgreSQL full-text index for catalog search (skipped on SQLite, which uses icontains)."""

from django.db import migrations

INDEX = "catalog_entity_search_gin"


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    # Must match the expression catalog.queries builds with SearchVector(config="simple").
    schema_editor.execute(
        f"CREATE INDEX IF NOT EXISTS {INDEX} ON catalog_entity USING gin "
        "(to_tsvector('simple'::regconfig, COALESCE(search_text, '')))"
    )


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [("catalog", "0002_ingestion_locations_tokens")]
    operations = [migrations.RunPython(create_index, drop_index)]
