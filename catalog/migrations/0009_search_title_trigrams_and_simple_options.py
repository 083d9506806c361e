"""Search on PostgreSQL without reading the whole table (SQLite searches with plain substring matches instead).

- Trigrams of the upper-cased title (pg_trgm), so the search's `title__icontains` branch, which Django writes as
  `UPPER(title::text) LIKE UPPER('%...%')`, is a GIN index scan; the same for the seller's search of SKUs.
- Each product's search document is rebuilt as `catalog.services.products.search_vector_refresh` now writes it:
  the active variants' option values and SKUs under the `simple` configuration, which keeps sizes like "S"
  that the english one drops as stop words.
"""

from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations

REBUILD_SEARCH_VECTORS = """
UPDATE catalog_product AS product SET search_vector =
    setweight(to_tsvector('english'::regconfig, product.title), 'A')
    || setweight(to_tsvector('english'::regconfig, product.brand), 'B')
    || setweight(to_tsvector('simple'::regconfig, COALESCE((
        SELECT string_agg(
            concat_ws(' ', variant.option1, variant.option2, variant.option3, variant.sku), ' '
            ORDER BY variant.position, variant.id
        )
        FROM catalog_productvariant AS variant
        WHERE variant.product_id = product.id AND variant.is_active
    ), '')), 'B')
    || setweight(to_tsvector('english'::regconfig, product.description), 'C')
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        "CREATE INDEX IF NOT EXISTS catalog_product_title_trgm ON catalog_product USING gin (UPPER(title::text) gin_trgm_ops)"
    )
    schema_editor.execute(
        "CREATE INDEX IF NOT EXISTS catalog_variant_sku_trgm ON catalog_productvariant USING gin (UPPER(sku::text) gin_trgm_ops)"
    )
    schema_editor.execute(REBUILD_SEARCH_VECTORS)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS catalog_product_title_trgm")
        schema_editor.execute("DROP INDEX IF EXISTS catalog_variant_sku_trgm")


class Migration(migrations.Migration):
    dependencies = [("catalog", "0008_listing_indexes")]

    operations = [TrigramExtension(), migrations.RunPython(forwards, backwards)]
