"""Every change to a cart, for shoppers (in the database) and guests (in a cookie).

The rules are the same everywhere, per variant: 1 to 10 of it, no more than is in stock, only
variants shoppers can see, never your own product. A cart reserves nothing: stock is taken at
checkout, so the stock check here only stops a shopper from asking for the impossible.
"""

from django.db import IntegrityError, transaction
from django.http import Http404
from django.utils import timezone

from accounts.models import User
from cart import selectors
from cart.errors import CartFull, InvalidQuantity, OutOfStock, OwnProduct, ProductUnavailable
from cart.locks import cart_lock
from cart.models import MAX_LINES, MAX_QUANTITY, MIN_QUANTITY, Cart, CartItem
from catalog.errors import VariantRequired
from catalog.models import ProductVariant
from joycart.numbers import bounded_int


def quantity_clean(value: object) -> int:
    """A quantity from any input (JSON, form text) as an int from 1 to 10, or `InvalidQuantity`."""
    quantity = bounded_int(value, low=MIN_QUANTITY, high=MAX_QUANTITY)
    if quantity is None:
        raise InvalidQuantity()
    return quantity


def variant_id_resolve(*, variant_id: int | None, product_id: int | None) -> int:
    """The variant a request names: `variant_id`, else the only buyable variant of `product_id`.

    A product with several variants is `VariantRequired`: the shopper must choose one.
    """
    if variant_id is not None:
        return variant_id
    variant_ids = selectors.product_variant_ids(product_id=product_id)
    if not variant_ids:
        raise ProductUnavailable()
    if len(variant_ids) > 1:
        raise VariantRequired()
    return variant_ids[0]


def _variant_get(*, variant_id: int, buyer: User | None) -> ProductVariant:
    variant = selectors.variant_for_cart(variant_id=variant_id)
    if variant is None:
        raise ProductUnavailable()
    if buyer is not None and variant.product.store.user_id == buyer.pk:
        raise OwnProduct(f"{variant.product.title} is sold by your store, so you cannot buy it.")
    return variant


def _check_total(*, variant: ProductVariant, total: int, already: int) -> None:
    """The quantity a line would end up with, after adding to what is `already` there."""
    if total > MAX_QUANTITY:
        raise InvalidQuantity(
            f"You can have at most {MAX_QUANTITY} of {variant} in your cart; you already have {already}."
        )
    if total > variant.stock:
        raise OutOfStock.for_stock(title=str(variant), stock=variant.stock)


def _cart_locked(*, user: User) -> Cart:
    """The shopper's cart, created on first use and locked so their concurrent changes queue up."""
    cart = cart_lock(user_id=user.pk)
    if cart is not None:
        return cart
    try:
        with transaction.atomic():
            return Cart.objects.create(user=user)
    except IntegrityError:
        # Another request created it first; the unique user column guarantees there is one.
        return cart_lock(user_id=user.pk)


def _cart_touch(*, cart_id: int) -> None:
    """`updated_at` tells when the shopper last changed their cart."""
    Cart.objects.filter(pk=cart_id).update(updated_at=timezone.now())


def cart_item_add(*, user: User, variant_id: int, quantity: int) -> CartItem:
    """Add a variant, or raise the quantity of its line: the total obeys the same rules."""
    quantity = quantity_clean(quantity)
    variant = _variant_get(variant_id=variant_id, buyer=user)
    with transaction.atomic():
        cart = _cart_locked(user=user)
        item = CartItem.objects.filter(cart=cart, variant=variant).first()
        already = item.quantity if item else 0
        _check_total(variant=variant, total=already + quantity, already=already)
        if item is None:
            if cart.items.count() >= MAX_LINES:
                raise CartFull()
            item = CartItem.objects.create(cart=cart, variant=variant, quantity=quantity)
        else:
            item.quantity = already + quantity
            item.save(update_fields=["quantity", "updated_at"])
        cart.save(update_fields=["updated_at"])
    item.variant = variant
    return item


def cart_item_update(*, user: User, item_id: int, quantity: int) -> CartItem:
    """Set a line's quantity. Another shopper's line answers 404."""
    quantity = quantity_clean(quantity)
    item = selectors.cart_item_get(user=user, item_id=item_id)
    variant = selectors.variant_for_cart(variant_id=item.variant_id)
    if variant is None:
        raise ProductUnavailable(f"{item.variant} is no longer available. Remove it from your cart.")
    if quantity > variant.stock:
        raise OutOfStock.for_stock(title=str(variant), stock=variant.stock)
    now = timezone.now()
    with transaction.atomic():
        # A conditional UPDATE: a line removed meanwhile (another tab) is a 404, not a crash.
        if not CartItem.objects.filter(pk=item.pk).update(quantity=quantity, updated_at=now):
            raise Http404("No such cart item.")
        _cart_touch(cart_id=item.cart_id)
    item.quantity, item.updated_at, item.variant = quantity, now, variant
    return item


def cart_item_remove(*, user: User, item_id: int) -> CartItem:
    """Delete a line and return it (its variant still loaded), for the confirmation message."""
    item = selectors.cart_item_get(user=user, item_id=item_id)
    cart_id = item.cart_id
    with transaction.atomic():
        item.delete()
        _cart_touch(cart_id=cart_id)
    return item


def cart_clear(*, user: User) -> None:
    with transaction.atomic():
        selectors.user_cart_items(user=user).delete()


def _merge_reason(*, variant: ProductVariant, wanted: int) -> str:
    if variant.stock < min(wanted, MAX_QUANTITY):
        return f"only {variant.stock} left in stock"
    return f"at most {MAX_QUANTITY} of a product per cart"


def cart_merge_guest(*, user: User, guest_lines: dict[int, int]) -> list[str]:
    """Fold a guest cart into the shopper's cart at login, under the same rules.

    A login must not fail over a cart, so nothing here raises a rule error: a quantity too
    high for the rules is lowered to min(10, stock), and a variant that cannot be bought
    (gone, hidden, the shopper's own, out of stock, cart full) is left out. A line already
    in the shopper's cart is never lowered. Returns one note per thing that was changed.
    """
    notes: list[str] = []
    if not guest_lines:
        return notes
    variants = selectors.variants_for_cart(variant_ids=list(guest_lines))
    now = timezone.now()
    with transaction.atomic():
        cart = _cart_locked(user=user)
        existing = {item.variant_id: item for item in cart.items.all()}
        to_create: list[CartItem] = []
        to_update: list[CartItem] = []
        for variant_id, guest_quantity in guest_lines.items():
            variant = variants.get(variant_id)
            if variant is None:
                notes.append("A product you added before logging in is no longer available, so it was not added.")
                continue
            if variant.product.store.user_id == user.pk:
                notes.append(f"{variant} is sold by your store, so it was not added to your cart.")
                continue
            item = existing.get(variant_id)
            already = item.quantity if item else 0
            wanted = already + max(guest_quantity, MIN_QUANTITY)
            allowed = min(MAX_QUANTITY, variant.stock)
            quantity = max(already, min(wanted, allowed))
            if quantity == 0:
                notes.append(f"{variant} is out of stock, so it was not added to your cart.")
                continue
            if item is None and len(existing) + len(to_create) >= MAX_LINES:
                notes.append(f"{variant} was not added: your cart already has {MAX_LINES} products.")
                continue
            if quantity < wanted:
                reason = _merge_reason(variant=variant, wanted=wanted)
                notes.append(f"{variant}: your cart now has {quantity}, not {wanted} ({reason}).")
            if item is None:
                to_create.append(CartItem(cart=cart, variant=variant, quantity=quantity))
            elif quantity != already:
                item.quantity, item.updated_at = quantity, now
                to_update.append(item)
        CartItem.objects.bulk_create(to_create)
        CartItem.objects.bulk_update(to_update, fields=["quantity", "updated_at"])
        cart.save(update_fields=["updated_at"])
    return notes


# --- Guest carts ------------------------------------------------------------------------
# A guest cart is a {variant_id: quantity} dict kept in a signed cookie (`cart.guest`).
# These functions apply the shopper rules to it and return the new dict; they write nothing.


def guest_cart_item_add(
    *, lines: dict[int, int], variant_id: int, quantity: int
) -> tuple[dict[int, int], ProductVariant]:
    """The guest twin of `cart_item_add`. The own-product rule needs a user, so it waits for the merge."""
    quantity = quantity_clean(quantity)
    variant = _variant_get(variant_id=variant_id, buyer=None)
    already = lines.get(variant.pk, 0)
    _check_total(variant=variant, total=already + quantity, already=already)
    if not already and len(lines) >= MAX_LINES:
        raise CartFull()
    return {**lines, variant.pk: already + quantity}, variant


def guest_cart_item_update(
    *, lines: dict[int, int], variant_id: int, quantity: int
) -> tuple[dict[int, int], ProductVariant]:
    quantity = quantity_clean(quantity)
    if variant_id not in lines:
        raise Http404("No such cart item.")
    variant = _variant_get(variant_id=variant_id, buyer=None)
    if quantity > variant.stock:
        raise OutOfStock.for_stock(title=str(variant), stock=variant.stock)
    return {**lines, variant_id: quantity}, variant


def guest_cart_item_remove(*, lines: dict[int, int], variant_id: int) -> dict[int, int]:
    if variant_id not in lines:
        raise Http404("No such cart item.")
    return {key: value for key, value in lines.items() if key != variant_id}
