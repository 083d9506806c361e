"""Each product's top-level category (its category's parent, else its category), with an index on it and the
price, so a top-level category's page walks one index in price order instead of sorting all its shelves' rows."""

import django.db.models.deletion
from django.db import migrations, models
from django.db.models import OuterRef, Subquery
from django.db.models.functions import Coalesce


def top_categories_fill(apps, schema_editor):
    Category = apps.get_model("catalog", "Category")
    Product = apps.get_model("catalog", "Product")
    top = Category.objects.filter(pk=OuterRef("category_id")).values(top=Coalesce("parent_id", "pk"))
    Product.objects.update(top_category_id=Subquery(top))


class Migration(migrations.Migration):
    dependencies = [("catalog", "0009_search_title_trigrams_and_simple_options")]

    operations = [
        migrations.AddField(
            model_name="product",
            name="top_category",
            field=models.ForeignKey(
                db_index=False,
                editable=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="catalog.category",
            ),
        ),
        migrations.RunPython(top_categories_fill, migrations.RunPython.noop),
    ]
