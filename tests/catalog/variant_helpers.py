"""Products with options and variants, built from rows, for the shopper tests."""

from decimal import Decimal

from catalog.models import Product, ProductImage, ProductOption
from catalog.services.summary import product_summary_refresh
from tests.factories import ProductFactory, VariantFactory


def variant_product(*, options: dict[str, list[str]], variants: list[dict], **product_fields) -> Product:
    """A product whose options are `options` ({"Size": ["S", "M"]}) and whose variants are `variants`
    (each a dict of `VariantFactory` fields, with `option1`... as values), with its summary refreshed."""
    product = ProductFactory(**product_fields)
    product.variants.all().delete()  # the factory's variant has no option values
    for position, (name, values) in enumerate(options.items(), start=1):
        ProductOption.objects.create(product=product, position=position, name=name, values=values)
    for position, fields in enumerate(variants):
        VariantFactory(product=product, position=position, **fields)
    product_summary_refresh(product_ids=[product.pk])
    product.refresh_from_db()
    return product


def kurta(**product_fields) -> Product:
    """Sizes S, M, L in Red and Blue: (L, Blue) is not made, (M, Blue) is sold out, (S, Red) is
    the cheapest but inactive; the cheapest active variant in stock is (S, Blue)."""
    fields = {"title": "Block print kurta", "slug": "kurta", **product_fields}
    return variant_product(
        options={"Size": ["S", "M", "L"], "Colour": ["Red", "Blue"]},
        variants=[
            {"sku": "K-S-RED", "option1": "S", "option2": "Red", "price": Decimal("499.00"), "is_active": False},
            {"sku": "K-S-BLUE", "option1": "S", "option2": "Blue", "price": Decimal("899.00"),
             "mrp": Decimal("1000.00"), "stock": 4},
            {"sku": "K-M-RED", "option1": "M", "option2": "Red", "price": Decimal("999.00"), "stock": 12},
            {"sku": "K-M-BLUE", "option1": "M", "option2": "Blue", "price": Decimal("949.00"), "stock": 0},
            {"sku": "K-L-RED", "option1": "L", "option2": "Red", "price": Decimal("1299.00"),
             "mrp": Decimal("2598.00"), "stock": 2},
        ],
        **fields,
    )  # fmt: skip


def variant(product: Product, *values: str):
    return product.variants.get(option1=values[0], option2=values[1] if len(values) > 1 else "")


def image(product: Product, name: str) -> ProductImage:
    return ProductImage.objects.create(
        product=product, image=f"products/{product.pk}/{name}.jpg", thumbnail=f"products/{product.pk}/{name}-t.jpg",
        alt=f"{name} view", position=ProductImage.objects.filter(product=product).count(),
    )  # fmt: skip
