"""Stock changes that never overwrite concurrent sales (GUIDE §2, Stock).

Both operations are single conditional UPDATEs: the database applies them atomically,
so twenty concurrent "+1" requests add exactly twenty.
"""

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from catalog.cache import bump_after_commit
from catalog.errors import StockConflict
from catalog.models import MAX_STOCK, Product


def _current_stock(product_id: int) -> int:
    return Product.objects.filter(pk=product_id).values_list("stock", flat=True).get()


def product_stock_adjust(*, product: Product, delta: int) -> int:
    """Add (or with a negative delta, remove) stock. A result below zero is refused with 409."""
    with transaction.atomic():
        updated = Product.objects.filter(pk=product.pk, stock__gte=-delta, stock__lte=MAX_STOCK - delta).update(
            stock=F("stock") + delta, updated_at=timezone.now()
        )
        if not updated:
            current = _current_stock(product.pk)
            if delta > 0:
                raise StockConflict(f"Stock cannot go above {MAX_STOCK:,}; it is {current} now.")
            raise StockConflict(f"Only {current} in stock; cannot remove {-delta}.")
        new_stock = _current_stock(product.pk)
        crossed_zero = (new_stock == 0) != (new_stock - delta == 0)
        bump_after_commit(product_ids=[product.pk], listing=crossed_zero)
    product.stock = new_stock
    return new_stock


def product_stock_set(*, product: Product, value: int, expected: int) -> int:
    """Set stock to `value` only if it is still `expected`, so a sale in between is never lost."""
    if not 0 <= value <= MAX_STOCK:
        raise StockConflict(f"Stock must be between 0 and {MAX_STOCK:,}.")
    with transaction.atomic():
        updated = Product.objects.filter(pk=product.pk, stock=expected).update(stock=value, updated_at=timezone.now())
        if not updated:
            raise StockConflict(
                f"The stock is now {_current_stock(product.pk)}, not {expected}. Check it and try again."
            )
        bump_after_commit(product_ids=[product.pk], listing=(value == 0) != (expected == 0))
    product.stock = value
    return value
