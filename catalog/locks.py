"""Row locks of the catalog: product rows, which guard the stock of all their variants, then variant rows.

Product rows come after the Order and OrderItem locks and before Payment rows in the global lock
order (docs/architecture.md): a cancellation holds its order and items when it gives stock back.
Several products are always locked in primary-key order, so two checkouts (or a checkout and a
CSV import) of the same products queue up instead of deadlocking. Every change to a variant's stock
holds its product's lock first, so the product's summary of its variants is refreshed by one
transaction at a time; the variants themselves are locked after their products, in primary-key order.
"""

from collections.abc import Iterable

from django.db.models import QuerySet

from catalog.models import Product, ProductVariant
from catalog.selectors import visible_products


def product_lock(*, product_id: int) -> bool:
    """Lock one product row; False if it is gone.

    Changes to what hangs off a product (its images, its rating, deleting it) take this lock, so
    they run one after another and a checkout of the product either finishes before or waits.
    """
    return Product.objects.select_for_update().filter(pk=product_id).exists()


def products_lock(*, product_ids: Iterable[int]) -> set[int]:
    """Lock these product rows in primary-key order; return the ids still there."""
    rows = Product.objects.select_for_update().filter(pk__in=list(product_ids)).order_by("pk")
    return set(rows.values_list("pk", flat=True))


def visible_products_lock(*, product_ids: Iterable[int] | QuerySet) -> dict[int, Product]:
    """Lock the products shoppers can see, in primary-key order, with their store and category (its return
    window); the others are missing. `product_ids` may be a subquery of ids.

    Only the product rows are locked (`of=("self",)`): a seller editing their store does not wait on checkouts.
    """
    rows = (
        visible_products()
        .select_related("store", "category__parent")
        .select_for_update(of=("self",))
        .filter(pk__in=product_ids if isinstance(product_ids, QuerySet) else list(product_ids))
        .order_by("pk")
    )
    return {product.pk: product for product in rows}


def variants_lock(*, variant_ids: Iterable[int]) -> dict[int, ProductVariant]:
    """Lock these variant rows in primary-key order, after their products; the ones gone are missing."""
    rows = ProductVariant.objects.select_for_update().filter(pk__in=list(variant_ids)).order_by("pk")
    return {variant.pk: variant for variant in rows}
