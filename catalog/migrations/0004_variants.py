import django.core.validators
import django.db.models.deletion
import django.db.models.functions.text
from django.db import migrations, models

import catalog.validators


class Migration(migrations.Migration):
    """Variants, step 1 of 3: the new tables, and the product's SKU made nullable until 0005 moves it."""

    dependencies = [
        ("accounts", "0002_address_phone_pincode_ascii_digits"),
        ("catalog", "0003_product_price_sku_validators"),
    ]

    operations = [
        migrations.CreateModel(
            name="ProductOption",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("position", models.PositiveSmallIntegerField()),
                ("name", models.CharField(max_length=40)),
                ("values", models.JSONField(default=list)),
                (
                    "product",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="options", to="catalog.product"
                    ),
                ),
            ],
            options={"ordering": ["position"]},
        ),
        migrations.CreateModel(
            name="ProductVariant",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "sku",
                    models.CharField(
                        max_length=64,
                        validators=[
                            django.core.validators.RegexValidator(
                                "^[A-Za-z0-9][A-Za-z0-9._/-]*\\Z",
                                code="invalid_sku",
                                message="Use letters, digits and . _ / - only, starting with a letter or digit.",
                            )
                        ],
                        verbose_name="SKU",
                    ),
                ),
                ("option1", models.CharField(blank=True, default="", max_length=60)),
                ("option2", models.CharField(blank=True, default="", max_length=60)),
                ("option3", models.CharField(blank=True, default="", max_length=60)),
                (
                    "price",
                    models.DecimalField(
                        decimal_places=2, max_digits=12, validators=[catalog.validators.validate_price]
                    ),
                ),
                (
                    "mrp",
                    models.DecimalField(
                        blank=True,
                        decimal_places=2,
                        max_digits=12,
                        null=True,
                        validators=[catalog.validators.validate_mrp],
                        verbose_name="MRP",
                    ),
                ),
                ("stock", models.PositiveIntegerField(default=0)),
                ("is_active", models.BooleanField(default=True)),
                ("position", models.PositiveSmallIntegerField(default=0)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                (
                    "image",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="variants",
                        to="catalog.productimage",
                    ),
                ),
                (
                    "product",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="variants", to="catalog.product"
                    ),
                ),
            ],
            options={"ordering": ["position", "id"]},
        ),
        migrations.RemoveConstraint(model_name="product", name="catalog_product_sku_ci_unique"),
        migrations.AlterField(
            model_name="product",
            name="sku",
            field=models.CharField(max_length=64, null=True, verbose_name="SKU"),
        ),
        migrations.AddField(
            model_name="product",
            name="price_max",
            field=models.DecimalField(
                decimal_places=2, editable=False, max_digits=12, null=True, verbose_name="up to price"
            ),
        ),
        migrations.AlterField(
            model_name="product",
            name="mrp",
            field=models.DecimalField(
                blank=True, decimal_places=2, editable=False, max_digits=12, null=True, verbose_name="MRP"
            ),
        ),
        migrations.AlterField(
            model_name="product",
            name="price",
            field=models.DecimalField(decimal_places=2, editable=False, max_digits=12, verbose_name="from price"),
        ),
        migrations.AlterField(
            model_name="product",
            name="stock",
            field=models.PositiveIntegerField(default=0, editable=False, verbose_name="stock of all variants"),
        ),
        migrations.AddConstraint(
            model_name="productoption",
            constraint=models.UniqueConstraint(fields=("product", "position"), name="catalog_option_one_per_position"),
        ),
        migrations.AddConstraint(
            model_name="productoption",
            constraint=models.UniqueConstraint(
                models.F("product"), django.db.models.functions.text.Lower("name"), name="catalog_option_name_unique"
            ),
        ),
        migrations.AddConstraint(
            model_name="productoption",
            constraint=models.CheckConstraint(
                condition=models.Q(("position__gte", 1), ("position__lte", 3)), name="catalog_option_position_1_to_3"
            ),
        ),
        migrations.AddIndex(
            model_name="productvariant",
            index=models.Index(fields=["product", "is_active", "price"], name="catalog_variant_prod_act_price"),
        ),
        migrations.AddConstraint(
            model_name="productvariant",
            constraint=models.UniqueConstraint(
                django.db.models.functions.text.Lower("sku"), name="catalog_variant_sku_ci_unique"
            ),
        ),
        migrations.AddConstraint(
            model_name="productvariant",
            constraint=models.UniqueConstraint(
                fields=("product", "option1", "option2", "option3"), name="catalog_variant_one_per_combination"
            ),
        ),
        migrations.AddConstraint(
            model_name="productvariant",
            constraint=models.CheckConstraint(condition=models.Q(("price__gt", 0)), name="catalog_variant_price_positive"),
        ),
        migrations.AddConstraint(
            model_name="productvariant",
            constraint=models.CheckConstraint(
                condition=models.Q(("mrp__isnull", True), ("mrp__gte", models.F("price")), _connector="OR"),
                name="catalog_variant_mrp_at_least_price",
            ),
        ),
        migrations.AddConstraint(
            model_name="productvariant",
            constraint=models.CheckConstraint(
                condition=models.Q(("stock__gte", 0)), name="catalog_variant_stock_not_negative"
            ),
        ),
    ]
