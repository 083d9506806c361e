import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    """Variants, step 3 of 3 for order items: every item names its variant."""

    dependencies = [
        ("orders", "0002_orderitem_variant"),
        ("catalog", "0005_variants_data"),
    ]

    operations = [
        migrations.AlterField(
            model_name="orderitem",
            name="variant",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT, related_name="order_items", to="catalog.productvariant"
            ),
        ),
    ]
