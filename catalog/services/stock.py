"""Stock changes that never overwrite concurrent sales.

Both operations are single conditional UPDATEs: the database applies them atomically,
so twenty concurrent "+1" requests add exactly twenty.
"""

from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from catalog.cache import bump_after_commit
from catalog.errors import StockConflict
from catalog.models import Product
from catalog.validators import MAX_STOCK, validate_stock


def _current_stock(product_id: int) -> int:
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


def stock_delta_apply(*, product_id: int, delta: int, now: datetime | None = None) -> str | None:
    """Apply `delta` in one conditional UPDATE, so concurrent changes all count and none breaks the
    bounds. Returns None when applied, else why not."""
    updated = Product.objects.filter(pk=product_id, stock__gte=-delta, stock__lte=MAX_STOCK - delta).update(
        stock=F("stock") + delta, updated_at=now or timezone.now()
    )
    if updated:
        return None
    current = _current_stock(product_id)
    # A sale may have committed between the UPDATE and this read, so the stock may fit again now.
    return stock_delta_refusal(current=current, delta=delta) or f"The stock changed to {current} meanwhile. Try again."


def product_stock_adjust(*, product: Product, delta: int) -> int:
    """Add (or with a negative delta, remove) stock. A result below zero or above MAX_STOCK is refused with 409."""
    with transaction.atomic():
        refusal = stock_delta_apply(product_id=product.pk, delta=delta)
        if refusal:
            raise StockConflict(refusal)
        new_stock = _current_stock(product.pk)
        crossed_zero = (new_stock == 0) != (new_stock - delta == 0)
        bump_after_commit(product_ids=[product.pk], listing=crossed_zero)
    product.stock = new_stock
    return new_stock


def product_stock_set(*, product: Product, value: int, expected: int) -> int:
    """Set stock to `value` only if it is still `expected`, so a sale in between is never lost."""
    try:
        validate_stock(value)
    except ValidationError as exc:
        raise StockConflict(f"Stock must be between 0 and {MAX_STOCK:,}.") from exc
    with transaction.atomic():
        updated = Product.objects.filter(pk=product.pk, stock=expected).update(stock=value, updated_at=timezone.now())
        if not updated:
            raise StockConflict(
                f"The stock is now {_current_stock(product.pk)}, not {expected}. Check it and try again."
            )
        bump_after_commit(product_ids=[product.pk], listing=(value == 0) != (expected == 0))
    product.stock = value
    return value
