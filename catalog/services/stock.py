"""Stock changes that never overwrite concurrent sales.

Stock belongs to a variant. Every change is a single conditional UPDATE of the variant row, made
while its product row is locked, followed by the product's summary refresh in the same transaction:
twenty concurrent "+1" requests add exactly twenty, and the listing's "in stock" stays true to the
variants. The product-level functions serve products with one variant, as the stock endpoint did
before variants existed.
"""

from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from catalog.cache import bump_after_commit
from catalog.errors import StockConflict, VariantRequired
from catalog.locks import product_lock
from catalog.models import Product, ProductVariant
from catalog.services.summary import product_summary_refresh
from catalog.validators import MAX_STOCK, validate_stock


def _current_stock(variant_id: int) -> int:
    return ProductVariant.objects.filter(pk=variant_id).values_list("stock", flat=True).get()


def _product_stock(product_id: int) -> int:
    return Product.objects.filter(pk=product_id).values_list("stock", flat=True).get()


def stock_delta_refusal(*, current: int, delta: int) -> str | None:
    """Why `delta` cannot move a stock of `current`, or None: it must stay within 0 and MAX_STOCK.

    The one rule for a seller's adjustment and the CSV import's add_stock, before and after locking.
    """
    if current + delta < 0:
        return f"Only {current} in stock; cannot remove {-delta}."
    if current + delta > MAX_STOCK:
        return f"Stock cannot go above {MAX_STOCK:,}; it is {current} now."
    return None


def stock_delta_apply(*, variant_id: int, delta: int, now: datetime | None = None) -> str | None:
    """Apply `delta` to a variant in one conditional UPDATE, so concurrent changes all count and none
    breaks the bounds. Returns None when applied, else why not. The caller holds the product's lock
    and refreshes its summary."""
    updated = ProductVariant.objects.filter(pk=variant_id, stock__gte=-delta, stock__lte=MAX_STOCK - delta).update(
        stock=F("stock") + delta, updated_at=now or timezone.now()
    )
    if updated:
        return None
    current = _current_stock(variant_id)
    # A sale may have committed between the UPDATE and this read, so the stock may fit again now.
    return stock_delta_refusal(current=current, delta=delta) or f"The stock changed to {current} meanwhile. Try again."


def stock_return(*, variant_id: int, product_id: int, quantity: int) -> None:
    """Give back `quantity` units that a cancelled or expired order item held (an F() increment).

    The caller holds the item's order and item locks; this takes the product's, as checkout does.
    """
    product_lock(product_id=product_id)
    was_sold_out = _product_stock(product_id) == 0
    ProductVariant.objects.filter(pk=variant_id).update(stock=F("stock") + quantity, updated_at=timezone.now())
    product_summary_refresh(product_ids=[product_id])
    bump_after_commit(product_ids=[product_id], listing=was_sold_out)


def _bump_if_crossed_zero(*, product_id: int, before: int) -> None:
    after = _product_stock(product_id)
    bump_after_commit(product_ids=[product_id], listing=(before == 0) != (after == 0))


def variant_stock_adjust(*, variant: ProductVariant, delta: int) -> int:
    """Add (or with a negative delta, remove) stock. A result below zero or above MAX_STOCK is refused with 409."""
    with transaction.atomic():
        product_lock(product_id=variant.product_id)
        before = _product_stock(variant.product_id)
        refusal = stock_delta_apply(variant_id=variant.pk, delta=delta)
        if refusal:
            raise StockConflict(refusal)
        product_summary_refresh(product_ids=[variant.product_id])
        _bump_if_crossed_zero(product_id=variant.product_id, before=before)
        variant.stock = _current_stock(variant.pk)
    return variant.stock


def variant_stock_set(*, variant: ProductVariant, value: int, expected: int) -> int:
    """Set stock to `value` only if it is still `expected`, so a sale in between is never lost."""
    try:
        validate_stock(value)
    except ValidationError as exc:
        raise StockConflict(f"Stock must be between 0 and {MAX_STOCK:,}.") from exc
    with transaction.atomic():
        product_lock(product_id=variant.product_id)
        before = _product_stock(variant.product_id)
        updated = ProductVariant.objects.filter(pk=variant.pk, stock=expected).update(
            stock=value, updated_at=timezone.now()
        )
        if not updated:
            raise StockConflict(
                f"The stock is now {_current_stock(variant.pk)}, not {expected}. Check it and try again."
            )
        product_summary_refresh(product_ids=[variant.product_id])
        _bump_if_crossed_zero(product_id=variant.product_id, before=before)
    variant.stock = value
    return value


def only_variant(product: Product) -> ProductVariant:
    """The variant of a product that has exactly one; `VariantRequired` when it has several."""
    variants = list(product.variants.all()[:2])
    if len(variants) != 1:
        raise VariantRequired()
    return variants[0]


def product_stock_adjust(*, product: Product, delta: int) -> int:
    """`variant_stock_adjust` for a product with one variant; returns the product's new stock."""
    stock = variant_stock_adjust(variant=only_variant(product), delta=delta)
    product.stock = stock
    return stock


def product_stock_set(*, product: Product, value: int, expected: int) -> int:
    """`variant_stock_set` for a product with one variant."""
    stock = variant_stock_set(variant=only_variant(product), value=value, expected=expected)
    product.stock = stock
    return stock
