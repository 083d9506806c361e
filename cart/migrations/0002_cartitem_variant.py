import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    """Variants, step 1 of 3 for carts: a nullable variant beside the product until catalog 0005 fills it."""

    dependencies = [
        ("cart", "0001_initial"),
        ("catalog", "0004_variants"),
    ]

    operations = [
        migrations.RemoveConstraint(model_name="cartitem", name="cart_item_one_line_per_product"),
        migrations.AlterField(
            model_name="cartitem",
            name="product",
            field=models.ForeignKey(
                null=True, on_delete=django.db.models.deletion.CASCADE, related_name="cart_items", to="catalog.product"
            ),
        ),
        migrations.AddField(
            model_name="cartitem",
            name="variant",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="cart_items",
                to="catalog.productvariant",
            ),
        ),
    ]
