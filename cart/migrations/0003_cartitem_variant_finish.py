import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    """Variants, step 3 of 3 for carts: a line is a variant, once per cart."""

    dependencies = [
        ("cart", "0002_cartitem_variant"),
        ("catalog", "0005_variants_data"),
    ]

    operations = [
        migrations.RemoveField(model_name="cartitem", name="product"),
        migrations.AlterField(
            model_name="cartitem",
            name="variant",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE, related_name="cart_items", to="catalog.productvariant"
            ),
        ),
        migrations.AddConstraint(
            model_name="cartitem",
            constraint=models.UniqueConstraint(fields=("cart", "variant"), name="cart_item_one_line_per_variant"),
        ),
    ]
