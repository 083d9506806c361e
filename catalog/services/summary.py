"""A product's summary of its variants: the one writer of `Product.price`, `price_max`, `mrp` and `stock`.

The listing filters, sorts and indexes on these columns, so a page of products never has to
aggregate variants. Every service that changes a variant's price, MRP, stock or active flag
calls `product_summary_refresh` (a sale, `product_stock_taken`) in the same transaction, with the product row locked
(`catalog.locks`): two transactions changing variants of one product then refresh one after
the other, and each sees the other's committed variants.
"""

from collections.abc import Iterable

from django.db.models import Case, Exists, F, IntegerField, OuterRef, Subquery, Sum, Value, When
from django.db.models.functions import Coalesce

from catalog.models import Product, ProductVariant


def product_summary_refresh(*, product_ids: Iterable[int]) -> None:
    """Recompute the summary from the variants, in one UPDATE.

    The price and MRP are the cheapest active variant's, `price_max` the dearest active one's,
    and the stock the sum of the active variants'. A product with no active variant keeps a
    price (its cheapest variant's, so the row stays valid) and a stock of 0: it shows as sold out.
    """
    variants = ProductVariant.objects.filter(product_id=OuterRef("pk"))
    active = variants.filter(is_active=True)
    priced = active.order_by("price", "position", "pk")
    # With no active variant, the cheapest of all keeps the row valid.
    fallback = variants.order_by("price", "position", "pk")
    has_active = Exists(active)
    Product.objects.filter(pk__in=list(product_ids)).update(
        price=Coalesce(Subquery(priced.values("price")[:1]), Subquery(fallback.values("price")[:1])),
        price_max=Coalesce(
            Subquery(active.order_by("-price").values("price")[:1]), Subquery(fallback.values("price")[:1])
        ),
        mrp=Case(
            When(has_active, then=Subquery(priced.values("mrp")[:1])), default=Subquery(fallback.values("mrp")[:1])
        ),
        stock=Coalesce(
            Subquery(active.order_by().values("product_id").annotate(total=Sum("stock")).values("total")[:1]),
            Value(0),
            output_field=IntegerField(),
        ),
    )


def product_stock_taken(*, taken: dict[int, int]) -> None:
    """A sale: lower each product's stock by the units `taken` {product id: units} from its active variants.

    Cheaper than a refresh and as exact: the caller holds the products' locks, under which the summary
    agrees with the variants, and a sale moves no price, no MRP and no active flag, only the stock sum.
    """
    if not taken:
        return
    Product.objects.filter(pk__in=list(taken)).update(
        stock=F("stock") - Case(*(When(pk=product_id, then=Value(units)) for product_id, units in taken.items()))
    )
