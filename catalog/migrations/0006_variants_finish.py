from django.db import migrations, models


class Migration(migrations.Migration):
    """Variants, step 3 of 3: the product's SKU goes; its price range is complete."""

    dependencies = [("catalog", "0005_variants_data")]

    operations = [
        migrations.RemoveField(model_name="product", name="sku"),
        migrations.AlterField(
            model_name="product",
            name="price_max",
            field=models.DecimalField(decimal_places=2, editable=False, max_digits=12, verbose_name="up to price"),
        ),
        migrations.AddConstraint(
            model_name="product",
            constraint=models.CheckConstraint(
                condition=models.Q(("price_max__gte", models.F("price"))), name="catalog_product_price_range"
            ),
        ),
    ]
