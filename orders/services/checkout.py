"""Placing an order: one transaction that takes every line's stock or none.

- A line is a variant. The lines' products are locked with SELECT ... FOR UPDATE in primary-key
  order, whatever order the cart lists them in, then their variants, also in primary-key order, so
  two checkouts of the same products queue up instead of deadlocking. Each variant's stock is then
  taken with a conditional UPDATE (`stock >= quantity`) as well, which keeps the rule true even where
  row locks do not exist (SQLite), and the products' summed stock is lowered by as much under their locks.
- The request is idempotent per buyer and `Idempotency-Key`. A retry is recognised by the
  (buyer, key) unique constraint and the request's fingerprint: the same body returns the
  order already made, a different body is refused. When two identical requests race, the
  loser waits on the winner's locks, fails (on the constraint, or because the winner took
  the stock or emptied the cart), rolls back everything it did, and then finds and returns
  the winner's order.
"""

import hashlib
import json
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Literal

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from accounts.errors import AccountBlocked
from accounts.models import Address, User
from cart.errors import InvalidQuantity, OutOfStock, OwnProduct, ProductUnavailable
from cart.locks import cart_lock
from cart.models import Cart, CartItem
from cart.services import quantity_clean
from catalog.cache import bump_after_commit
from catalog.errors import VariantRequired
from catalog.locks import variants_lock, visible_products_lock
from catalog.models import MAX_AMOUNT, Product, ProductOption, ProductVariant, variant_label
from catalog.selectors import page_stock_shown
from catalog.services.summary import product_stock_taken
from joycart.errors import DomainError
from joycart.ids import is_valid_id
from joycart.money import format_inr
from orders import notifications
from orders.errors import (
    AmountBelowMinimum,
    AmountTooLarge,
    CartEmpty,
    IdempotencyKeyRequired,
    IdempotencyKeyReused,
    InvalidAddress,
    InvalidCheckout,
    PaymentMethodUnavailable,
)
from orders.models import RETURN_RELATIONS, ActorRole, Order, OrderEvent, OrderItem, OrderItemStatus, PaymentMethod
from orders.services.lifecycle import order_status_derive
from payments.gateway import MIN_ORDER_AMOUNT, below_order_minimum
from payments.models import Payment, PaymentStatus
from payments.services.expiry import order_expiry_schedule
from payments.services.online import payment_gateway_order_ensure

CheckoutSource = Literal["cart", "buy_now"]
SOURCE_CART: CheckoutSource = "cart"
SOURCE_BUY_NOW: CheckoutSource = "buy_now"
SOURCES = (SOURCE_CART, SOURCE_BUY_NOW)
MAX_IDEMPOTENCY_KEY_LENGTH = 100

# Online items start at PENDING_PAYMENT: their stock is reserved until the gateway's capture
# moves them to PLACED, or the reservation expires (payments.services.expiry).
ENABLED_PAYMENT_METHODS = frozenset({PaymentMethod.COD, PaymentMethod.ONLINE})
INITIAL_ITEM_STATUS = {
    PaymentMethod.COD: OrderItemStatus.PLACED,
    PaymentMethod.ONLINE: OrderItemStatus.PENDING_PAYMENT,
}


@dataclass(frozen=True)
class CheckoutRequest:
    """A checkout request after cleaning; its fingerprint identifies it for idempotent retries."""

    source: str
    address_id: int
    payment_method: str
    variant_id: int | None = None
    quantity: int | None = None

    def fingerprint(self) -> str:
        canonical = json.dumps(asdict(self), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class CheckoutLine:
    variant: ProductVariant
    quantity: int

    @property
    def product(self) -> Product:
        return self.variant.product

    @property
    def line_total(self) -> Decimal:
        return self.variant.price * self.quantity


# Every refusal checkout_place can answer with, for the API's documentation of checkout.
CHECKOUT_ERRORS = (
    IdempotencyKeyRequired,
    IdempotencyKeyReused,
    InvalidAddress,
    CartEmpty,
    InvalidQuantity,
    OutOfStock,
    OwnProduct,
    ProductUnavailable,
    VariantRequired,
    PaymentMethodUnavailable,
    InvalidCheckout,
    AmountTooLarge,
    AmountBelowMinimum,
    AccountBlocked,
)


def idempotency_key_clean(value: object) -> str:
    """The header's value: 1 to 100 printable ASCII characters, or `IdempotencyKeyRequired`."""
    if not isinstance(value, str):
        raise IdempotencyKeyRequired()
    value = value.strip()
    if not 0 < len(value) <= MAX_IDEMPOTENCY_KEY_LENGTH or not (value.isascii() and value.isprintable()):
        raise IdempotencyKeyRequired()
    return value


def checkout_request_clean(
    *, source: str, address_id: int, payment_method: str, variant_id: int | None = None, quantity: int | None = None
) -> CheckoutRequest:
    """Shape checks that need no database. A cart checkout ignores `variant_id` and `quantity`."""
    if source not in SOURCES:
        raise InvalidCheckout()
    if payment_method not in ENABLED_PAYMENT_METHODS:
        raise PaymentMethodUnavailable()
    if not is_valid_id(address_id):
        raise InvalidAddress()
    if source == SOURCE_CART:
        return CheckoutRequest(source=source, address_id=address_id, payment_method=payment_method)
    if not is_valid_id(variant_id):
        raise ProductUnavailable()
    return CheckoutRequest(
        source=source,
        address_id=address_id,
        payment_method=payment_method,
        variant_id=variant_id,
        quantity=quantity_clean(1 if quantity is None else quantity),
    )


def _replay(*, buyer: User, idempotency_key: str, fingerprint: str) -> Order | None:
    """The order this key already made, if the request is the same; a different request is a 409."""
    order = Order.objects.filter(buyer=buyer, idempotency_key=idempotency_key).first()
    if order is not None and order.request_fingerprint != fingerprint:
        raise IdempotencyKeyReused()
    return order


def checkout_place(
    *,
    buyer: User,
    source: CheckoutSource,
    address_id: int,
    payment_method: str,
    idempotency_key: str,
    variant_id: int | None = None,
    quantity: int | None = None,
) -> tuple[Order, bool]:
    """Place an order from the buyer's cart or one "Buy now" variant. Returns (order, created).

    `created` is False when the same request with the same key was already placed: the
    existing order is returned and nothing new is made.

    An online order gets its gateway order after commit, outside the transaction; if the
    gateway fails, the order stays PENDING_PAYMENT without one, and the buyer retries
    (`payments.services.online.payment_attempt_prepare`). A replay makes sure it has one too.
    Callers must not wrap this in a transaction of their own. A new order comes with its payment,
    items and events in hand, as `orders.selectors.buyer_order_get` would read them.
    """
    key = idempotency_key_clean(idempotency_key)
    request = checkout_request_clean(
        source=source, address_id=address_id, payment_method=payment_method, variant_id=variant_id, quantity=quantity
    )
    if buyer.is_blocked:
        raise AccountBlocked()
    fingerprint = request.fingerprint()
    existing = _replay(buyer=buyer, idempotency_key=key, fingerprint=fingerprint)
    if existing is not None:
        return _gateway_order_ensured(existing), False
    try:
        with transaction.atomic():
            order = _order_place(buyer=buyer, request=request, idempotency_key=key, fingerprint=fingerprint)
    except (DomainError, IntegrityError):
        # A twin request with this key may have committed while this one waited on its
        # locks; everything done here is rolled back, and the twin's order is the answer.
        existing = _replay(buyer=buyer, idempotency_key=key, fingerprint=fingerprint)
        if existing is not None:
            return _gateway_order_ensured(existing), False
        raise
    return _gateway_order_ensured(order), True


def _gateway_order_ensured(order: Order) -> Order:
    if order.payment_method != PaymentMethod.ONLINE:
        return order
    in_hand = Order.payment.is_cached(order)
    payment_id = order.payment.pk if in_hand else Payment.objects.filter(order=order).values_list("pk", flat=True).get()
    payment_gateway_order_ensure(payment_id=payment_id)
    if in_hand:
        # The gateway order is stored after commit: the payment in hand would not show it.
        order.payment.refresh_from_db()
    return order


def _relations_in_hand(*, order: Order, items: list[OrderItem], payment: Payment, events: list[OrderEvent]) -> None:
    """Give a new order the relations `orders.selectors.buyer_order_get` reads (its payment, its items with
    their refund, return and payout, its events), from the rows just written: its 201 then costs no read.

    A new item has no refund, no return request and no payout yet.
    """
    for item in items:
        item.refund_status = item.refund_amount = None
        for name in RETURN_RELATIONS:
            OrderItem._meta.get_field(name).set_cached_value(item, None)
    payment.order = order  # one-to-one: the order's `payment` is cached as well
    _prefetched(order, "items", items)
    _prefetched(order, "events", events)


def _prefetched(instance, name: str, rows: list) -> None:
    """Store `rows` as the prefetched value of `instance.<name>`, as `prefetch_related` would."""
    queryset = getattr(instance, name).all()
    queryset._result_cache = list(rows)
    queryset._prefetch_done = True
    instance.__dict__.setdefault("_prefetched_objects_cache", {})[name] = queryset


def _address_get(*, buyer: User, address_id: int) -> Address:
    address = Address.objects.filter(user=buyer, pk=address_id).first()
    if address is None:
        raise InvalidAddress()
    return address


def _wanted_from_cart(*, buyer: User) -> tuple[Cart, dict[int, int]]:
    """The cart's lines, {variant id: quantity}, with the cart locked: a second checkout of the same
    cart waits, then finds it empty."""
    cart = cart_lock(user_id=buyer.pk)
    wanted = dict(CartItem.objects.filter(cart=cart).values_list("variant_id", "quantity")) if cart else {}
    if cart is None or not wanted:
        raise CartEmpty()
    return cart, wanted


def unavailable_error(*, title: str | None, source: str) -> ProductUnavailable:
    """The refusal for a product shoppers can no longer see (inactive, closed store, gone)."""
    if title is None:
        return ProductUnavailable()
    if source == SOURCE_CART:
        return ProductUnavailable(f"{title} is no longer available. Remove it from your cart.")
    return ProductUnavailable(f"{title} is no longer available.")


def line_refusal(*, buyer: User, variant: ProductVariant, quantity: int) -> DomainError | None:
    """Why `buyer` cannot buy `quantity` of this visible variant now, or None.

    Checkout raises it; the checkout page (`orders.selectors.checkout_preview`) shows it
    beside the line, so both apply the same rules.
    """
    if variant.product.store.user_id == buyer.pk:
        return OwnProduct(f"{variant.product.title} is sold by your store, so you cannot buy it.")
    if variant.stock < quantity:
        return OutOfStock.for_stock(title=str(variant), stock=variant.stock)
    return None


def _unavailable(*, variant_id: int, source: str) -> ProductUnavailable:
    variant = ProductVariant.objects.select_related("product").filter(pk=variant_id).first()
    return unavailable_error(title=str(variant) if variant else None, source=source)


def _lines_locked(*, buyer: User, wanted: dict[int, int], source: str) -> list[CheckoutLine]:
    """Lock the wanted variants' visible products, then the variants, and check every line.

    Lines come out in variant primary-key order, and every refusal is raised before any stock is taken.
    """
    # A subquery, not a list: the products are found and locked in one round trip.
    products = visible_products_lock(
        product_ids=ProductVariant.objects.filter(pk__in=list(wanted)).values("product_id")
    )
    variants = variants_lock(variant_ids=sorted(wanted))
    lines = []
    for variant_id in sorted(wanted):
        variant, quantity = variants.get(variant_id), quantity_clean(wanted[variant_id])
        product = products.get(variant.product_id) if variant is not None else None
        if variant is None or product is None or not variant.is_active:
            raise _unavailable(variant_id=variant_id, source=source)
        variant.product = product
        refusal = line_refusal(buyer=buyer, variant=variant, quantity=quantity)
        if refusal is not None:
            raise refusal
        lines.append(CheckoutLine(variant=variant, quantity=quantity))
    return lines


def _order_total(*, lines: list[CheckoutLine]) -> Decimal:
    """The order's total, refused if it or a line would overflow a money column (12 digits).

    Prices are capped so that a full line always fits, but a cart may hold many lines, and a
    price stored before the cap may not be: checked here, before any stock is taken.
    """
    limit = format_inr(MAX_AMOUNT)
    for line in lines:
        if line.line_total > MAX_AMOUNT:
            raise AmountTooLarge(
                f"{line.quantity} of {line.variant} come to more than {limit}, the most one order can hold. Buy fewer."
            )
    total = sum((line.line_total for line in lines), Decimal("0.00"))
    if total > MAX_AMOUNT:
        raise AmountTooLarge(
            f"This order comes to {format_inr(total)}, more than {limit}, the most one order can hold. "
            "Split it into smaller orders."
        )
    return total


def payment_method_refusal(*, payment_method: str, total: Decimal) -> DomainError | None:
    """Why an order of `total` cannot be paid by `payment_method`, or None.

    Checkout raises it before any stock is taken; the checkout page (`orders.selectors.checkout_preview`)
    offers only Cash on Delivery when online payment is refused, so both apply the same rule.
    """
    if payment_method == PaymentMethod.ONLINE and below_order_minimum(total):
        return AmountBelowMinimum(
            f"This order comes to {format_inr(total)}; online payment needs at least {format_inr(MIN_ORDER_AMOUNT)}. "
            "Choose Cash on Delivery, or add more to your order."
        )
    return None


def _stock_take(*, lines: list[CheckoutLine]) -> bool:
    """Take each line's stock, in variant primary-key order, then lower the products' summaries by as much.

    Returns whether a product sold out altogether (the listing shows it as out of stock). The products
    were read under their locks, so their stock in hand is current: no query is needed to tell.
    """
    now = timezone.now()
    taken: dict[int, int] = {}
    for line in lines:
        updated = ProductVariant.objects.filter(pk=line.variant.pk, stock__gte=line.quantity).update(
            stock=F("stock") - line.quantity, updated_at=now
        )
        if not updated:
            stock = ProductVariant.objects.filter(pk=line.variant.pk).values_list("stock", flat=True).get()
            raise OutOfStock.for_stock(title=str(line.variant), stock=stock)
        line.variant.stock -= line.quantity
        taken[line.product.pk] = taken.get(line.product.pk, 0) + line.quantity
    product_stock_taken(taken=taken)
    products = {line.product.pk: line.product for line in lines}
    for product_id, product in products.items():
        product.stock -= taken[product_id]
    return any(product.stock == 0 for product in products.values())


def _page_stock_changed(line: CheckoutLine) -> bool:
    """Whether taking this line's stock changed what its product page shows (its stock is taken in hand)."""
    return page_stock_shown(line.variant.stock + line.quantity) != page_stock_shown(line.variant.stock)


def _option_names(*, product_ids: list[int]) -> dict[int, list[str]]:
    """Each product's option names in order, for the items' "Size: XL" snapshot."""
    names: dict[int, list[str]] = {}
    if not product_ids:
        return names
    for product_id, name in ProductOption.objects.filter(product_id__in=product_ids).values_list("product_id", "name"):
        names.setdefault(product_id, []).append(name)
    return names


def _order_place(*, buyer: User, request: CheckoutRequest, idempotency_key: str, fingerprint: str) -> Order:
    address = _address_get(buyer=buyer, address_id=request.address_id)
    cart = None
    if request.source == SOURCE_CART:
        cart, wanted = _wanted_from_cart(buyer=buyer)
    else:
        wanted = {request.variant_id: request.quantity}
    lines = _lines_locked(buyer=buyer, wanted=wanted, source=request.source)
    total = _order_total(lines=lines)
    refusal = payment_method_refusal(payment_method=request.payment_method, total=total)
    if refusal is not None:
        raise refusal
    sold_out = _stock_take(lines=lines)

    item_status = INITIAL_ITEM_STATUS[request.payment_method]
    order = Order.objects.create(
        buyer=buyer,
        status=order_status_derive([item_status]),
        payment_method=request.payment_method,
        total=total,
        idempotency_key=idempotency_key,
        request_fingerprint=fingerprint,
        ship_name=address.name,
        ship_phone=address.phone,
        ship_line1=address.line1,
        ship_line2=address.line2,
        ship_city=address.city,
        ship_state=address.state,
        ship_pincode=address.pincode,
    )
    order.number = f"JC-{order.pk:06d}"
    Order.objects.filter(pk=order.pk).update(number=order.number)
    # A variant without option values is labelled "" whatever its product's options are called.
    option_names = _option_names(product_ids=[line.product.pk for line in lines if line.variant.option_values])
    items = OrderItem.objects.bulk_create(
        [
            OrderItem(
                order=order,
                product=line.product,
                variant=line.variant,
                seller=line.product.store,
                title=line.product.title,
                sku=line.variant.sku,
                options=variant_label(option_names=option_names.get(line.product.pk, []), variant=line.variant),
                unit_price=line.variant.price,
                return_window_days=line.product.category.effective_return_window_days,
                quantity=line.quantity,
                status=item_status,
            )
            for line in lines
        ]
    )
    payment = Payment.objects.create(
        order=order, method=request.payment_method, status=PaymentStatus.PENDING, amount=order.total
    )
    events = OrderEvent.objects.bulk_create(
        [
            OrderEvent(order=order, item=item, actor=buyer, actor_role=ActorRole.BUYER, to_status=item_status)
            for item in items
        ]
    )
    _relations_in_hand(order=order, items=items, payment=payment, events=events)
    if cart is not None:
        CartItem.objects.filter(cart=cart, variant_id__in=list(wanted)).delete()
        cart.save(update_fields=["updated_at"])
    bump_after_commit(
        product_ids=[line.product.pk for line in lines if _page_stock_changed(line)],
        stock_counts_of=[line.product.pk for line in lines],
        listing=sold_out,
    )
    if item_status == OrderItemStatus.PLACED:
        notifications.order_placed_notify(order_id=order.pk)
    else:
        # Online: the "placed" e-mails wait for the capture; the reservation gets its deadline.
        order_expiry_schedule(order=order)
    return order
