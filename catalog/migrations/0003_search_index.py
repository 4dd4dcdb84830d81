"""Once the raw-SQL full-text index; that index is now declared in Entity.Meta.indexes and
created by 0008_search_index_in_meta, which drops the one this migration used to create."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("catalog", "0002_ingestion_locations_tokens")]
    operations = []
