from django.db import migrations
from django.db.models import F, Min, OuterRef, Subquery

BATCH = 2000


def product_to_variant(apps, schema_editor):
    """Every product becomes a product with one variant, keeping its SKU, price, MRP and stock;
    cart lines and order items point at that variant."""
    Product = apps.get_model("catalog", "Product")
    ProductVariant = apps.get_model("catalog", "ProductVariant")
    CartItem = apps.get_model("cart", "CartItem")
    OrderItem = apps.get_model("orders", "OrderItem")
    batch = []
    for product in Product.objects.order_by("pk").iterator(chunk_size=BATCH):
        batch.append(
            ProductVariant(
                product_id=product.pk, sku=product.sku, price=product.price, mrp=product.mrp, stock=product.stock
            )
        )
        if len(batch) >= BATCH:
            ProductVariant.objects.bulk_create(batch)
            batch = []
    ProductVariant.objects.bulk_create(batch)
    Product.objects.update(price_max=F("price"))
    only_variant = Subquery(ProductVariant.objects.filter(product_id=OuterRef("product_id")).values("pk")[:1])
    CartItem.objects.update(variant_id=only_variant)
    OrderItem.objects.update(variant_id=only_variant)


def variant_to_product(apps, schema_editor):
    """Back to one SKU per product: each product takes its first variant's SKU; its price, MRP and stock
    keep the summary of its active variants. A cart keeps one line per product (its first)."""
    Product = apps.get_model("catalog", "Product")
    ProductVariant = apps.get_model("catalog", "ProductVariant")
    CartItem = apps.get_model("cart", "CartItem")
    first_variant = ProductVariant.objects.filter(product_id=OuterRef("pk")).order_by("position", "pk")
    Product.objects.update(sku=Subquery(first_variant.values("sku")[:1]))
    CartItem.objects.update(
        product_id=Subquery(ProductVariant.objects.filter(pk=OuterRef("variant_id")).values("product_id")[:1])
    )
    # A subquery, not a list: a big table's ids would outgrow the database's limit on query parameters.
    keep = CartItem.objects.values("cart_id", "product_id").annotate(first=Min("pk")).values("first")
    CartItem.objects.exclude(pk__in=keep).delete()


class Migration(migrations.Migration):
    """Variants, step 2 of 3: the data moves from products to their variants."""

    dependencies = [
        ("catalog", "0004_variants"),
        ("cart", "0002_cartitem_variant"),
        ("orders", "0002_orderitem_variant"),
    ]

    operations = [migrations.RunPython(product_to_variant, variant_to_product)]
