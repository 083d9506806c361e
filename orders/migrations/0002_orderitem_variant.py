import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    """Variants, step 1 of 3 for order items: the variant (nullable until catalog 0005 fills it) and its options."""

    dependencies = [
        ("catalog", "0004_variants"),
        ("orders", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="orderitem",
            name="options",
            field=models.CharField(blank=True, max_length=320),
        ),
        migrations.AddField(
            model_name="orderitem",
            name="variant",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="order_items",
                to="catalog.productvariant",
            ),
        ),
    ]
