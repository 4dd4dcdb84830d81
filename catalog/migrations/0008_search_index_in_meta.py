"""The catalog's full-text index, declared in Entity.Meta.indexes instead of raw SQL. A database
that already has the raw-SQL index of 0003 drops it first; AddIndex creates the declared one."""

import django.contrib.postgres.indexes
import django.contrib.postgres.search
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("catalog", "0007_location_approval")]

    operations = [
        migrations.RunSQL(
            "DROP INDEX IF EXISTS catalog_entity_search_gin",
            reverse_sql=migrations.RunSQL.noop,
        ),
        migrations.AddIndex(
            model_name="entity",
            index=django.contrib.postgres.indexes.GinIndex(
                django.contrib.postgres.search.SearchVector("search_text", config="simple"),
                name="catalog_entity_search_gin",
            ),
        ),
    ]
