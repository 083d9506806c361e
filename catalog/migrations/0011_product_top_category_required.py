"""`top_category` is required from now on, and indexed with the price for the products shoppers see.

Apart from 0010, whose update of every row would leave PostgreSQL's deferred foreign-key checks pending
under this ALTER TABLE in the same transaction."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("catalog", "0010_product_top_category")]

    operations = [
        migrations.AlterField(
            model_name="product",
            name="top_category",
            field=models.ForeignKey(
                db_index=False,
                editable=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="catalog.category",
            ),
        ),
        migrations.AddIndex(
            model_name="product",
            index=models.Index(
                condition=models.Q(("is_active", True)),
                fields=["top_category", "price", "id"],
                name="catalog_prod_top_price",
            ),
        ),
    ]
