"""Reads of orders, always scoped to who asks: a buyer sees their orders, a seller the items
ordered from their store, staff everything. Another owner's order or item answers 404.

Each read fetches its relations in a fixed number of queries, however many rows it shows.
"""

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.http import Http404

from accounts.models import Store, User
from cart.models import CartItem
from cart.selectors import variant_options_label, variant_thumbnail_url, with_line_relations
from cart.services import quantity_clean
from catalog.models import Product, ProductVariant
from catalog.selectors import visible_variants
from joycart.errors import DomainError
from joycart.ids import is_valid_id
from orders.errors import CartEmpty, InvalidCheckout
from orders.models import RETURN_RELATIONS, Order, OrderEvent, OrderItem, OrderItemStatus, PaymentMethod
from orders.services.checkout import (
    SOURCE_BUY_NOW,
    SOURCE_CART,
    line_refusal,
    payment_method_refusal,
    unavailable_error,
)
from orders.transitions import sources_for
from payments.models import Refund


def _events() -> QuerySet[OrderEvent]:
    return OrderEvent.objects.select_related("actor").order_by("created_at", "id")


def with_refund(items: QuerySet[OrderItem]) -> QuerySet[OrderItem]:
    """Each item's refund (at most one: a unique constraint) as `refund_status` and `refund_amount`, None
    without one; subqueries in the same query, so showing refunds costs no extra query."""
    refund = Refund.objects.filter(order_item=OuterRef("pk"))
    return items.annotate(
        refund_status=Subquery(refund.values("status")[:1]), refund_amount=Subquery(refund.values("amount")[:1])
    )


def buyer_orders(*, buyer: User) -> QuerySet[Order]:
    """Newest first, with the payment and the items and their returns (three queries for a page of any size)."""
    items = OrderItem.objects.select_related("seller", "product", *RETURN_RELATIONS).order_by("id")
    return (
        Order.objects.filter(buyer=buyer)
        .select_related("payment")
        .prefetch_related(Prefetch("items", queryset=with_refund(items)))
        .order_by("-created_at", "-id")
    )


def buyer_order_get(*, buyer: User, order_id: int | None = None, number: str | None = None) -> Order:
    """One of the buyer's orders by id or number, with items, payment and the whole timeline."""
    if order_id is not None:
        if not is_valid_id(order_id):
            raise Http404("No such order.")
        lookup = Q(pk=order_id)
    elif isinstance(number, str) and number:
        lookup = Q(number=number)
    else:
        raise Http404("No such order.")
    order = buyer_orders(buyer=buyer).prefetch_related(Prefetch("events", queryset=_events())).filter(lookup).first()
    if order is None:
        raise Http404("No such order.")
    return order


def buyer_order_item_get(
    *, buyer: User, item_id: int, order_id: int | None = None, number: str | None = None
) -> OrderItem:
    """An item of one of the buyer's orders, named by the order's id (API) or number (pages): both must match, or 404."""
    if order_id is not None and is_valid_id(order_id):
        order_lookup = Q(order_id=order_id)
    elif order_id is None and isinstance(number, str) and number:
        order_lookup = Q(order__number=number)
    else:
        raise Http404("No such order item.")
    if not is_valid_id(item_id):
        raise Http404("No such order item.")
    item = OrderItem.objects.filter(order_lookup, pk=item_id, order__buyer=buyer).first()
    if item is None:
        raise Http404("No such order item.")
    return item


def seller_order_items(*, store: Store, status: str | None = None) -> QuerySet[OrderItem]:
    """Items ordered from this store, newest first, with order, buyer, payment, return and the item's own events."""
    items = (
        with_refund(OrderItem.objects.filter(seller=store))
        .select_related("order__buyer", "order__payment", *RETURN_RELATIONS)
        .prefetch_related(Prefetch("events", queryset=_events()))
        .order_by("-created_at", "-id")
    )
    if status:
        if status not in OrderItemStatus.values:
            return items.none()
        items = items.filter(status=status)
    return items


def seller_return_items(*, store: Store, statuses: frozenset[str] | tuple[str, ...]) -> QuerySet[OrderItem]:
    """The store's items in these return statuses, newest request first, with the request, the order, its buyer
    and payment, and the money back (refund or payout): one query however many items."""
    return (
        with_refund(OrderItem.objects.filter(seller=store, status__in=statuses))
        .select_related("order__buyer", "order__payment", *RETURN_RELATIONS)
        .order_by("-return_request__requested_at", "-id")
    )


def order_items_movable(*, order_ids: list[int], to_status: str, role: str) -> QuerySet[OrderItem]:
    """The items of these orders that `role` may move to `to_status` now (staff cancelling from the admin)."""
    return (
        OrderItem.objects.filter(order_id__in=order_ids, status__in=sources_for(to_status=to_status, role=role))
        .select_related("order", "seller")
        .order_by("order_id", "id")
    )


def seller_order_item_counts(*, store: Store) -> dict[str, int]:
    """How many of the store's items are in each status (one query), for the portal's tabs and dashboard."""
    rows = OrderItem.objects.filter(seller=store).values("status").annotate(count=Count("id")).order_by()
    return {row["status"]: row["count"] for row in rows}


def seller_order_item_get(*, store: Store, item_id: int) -> OrderItem:
    """Another seller's item answers 404."""
    if not is_valid_id(item_id):
        raise Http404("No such order item.")
    item = seller_order_items(store=store).filter(pk=item_id).first()
    if item is None:
        raise Http404("No such order item.")
    return item


def order_events_visible(*, order: Order, viewer: User) -> QuerySet[OrderEvent]:
    """The timeline a viewer may see: the buyer and staff see all of it, a seller only their items' events."""
    events = _events().filter(order=order)
    if viewer.is_staff or order.buyer_id == viewer.pk:
        return events
    store = viewer.active_store if viewer.is_authenticated else None
    if store is None:
        return events.none()
    return events.filter(item__seller=store)


# --- The checkout page ------------------------------------------------------------------


@dataclass(frozen=True)
class PreviewLine:
    product: Product
    variant: ProductVariant
    options: str  # "Size: XL, Colour: Blue"; blank without options
    quantity: int
    unit_price: Decimal
    line_total: Decimal
    problem: str | None
    thumbnail_url: str | None


@dataclass(frozen=True)
class PreviewGroup:
    """The lines one seller will ship."""

    store: Store
    lines: list[PreviewLine]

    @property
    def subtotal(self) -> Decimal:
        return sum((line.line_total for line in self.lines if not line.problem), Decimal("0.00"))


@dataclass(frozen=True)
class CheckoutPreview:
    """What placing the order would buy, at today's prices, and what stands in the way.

    `problem` is what stops the whole checkout (an empty cart, a bad "Buy now" link); each
    line's `problem` is the refusal checkout itself would raise for that line. The total
    counts only lines without a problem, like the cart's subtotal.
    """

    source: str
    groups: list[PreviewGroup]
    problem: str | None = None
    variant_id: int | None = None
    quantity: int | None = None

    @property
    def lines(self) -> list[PreviewLine]:
        return [line for group in self.groups for line in group.lines]

    @property
    def total(self) -> Decimal:
        return sum((group.subtotal for group in self.groups), Decimal("0.00"))

    @property
    def item_count(self) -> int:
        return sum(line.quantity for line in self.lines)

    @property
    def has_line_problems(self) -> bool:
        return any(line.problem for line in self.lines)

    @property
    def can_place(self) -> bool:
        return self.problem is None and bool(self.lines) and not self.has_line_problems

    @property
    def online_refusal(self) -> str | None:
        """Why this order cannot be paid online (checkout's own rule), or None: the page then offers only COD."""
        if not self.can_place:
            return None
        refusal = payment_method_refusal(payment_method=PaymentMethod.ONLINE, total=self.total)
        return refusal.message if refusal is not None else None


def _is_visible(variant_ref: str) -> Exists:
    return Exists(visible_variants().filter(pk=OuterRef(variant_ref)))


def _preview_line(*, buyer: User, variant: ProductVariant, quantity: int, is_visible: bool, source: str) -> PreviewLine:
    refusal = (
        line_refusal(buyer=buyer, variant=variant, quantity=quantity)
        if is_visible
        else unavailable_error(title=str(variant), source=source)
    )
    return PreviewLine(
        product=variant.product,
        variant=variant,
        options=variant_options_label(variant),
        quantity=quantity,
        unit_price=variant.price,
        line_total=variant.price * quantity,
        problem=refusal.message if refusal is not None else None,
        thumbnail_url=variant_thumbnail_url(variant),
    )


def _grouped(lines: list[PreviewLine]) -> list[PreviewGroup]:
    """Group by seller, sellers in the order their first line appears."""
    groups: dict[int, PreviewGroup] = {}
    for line in lines:
        store = line.product.store
        groups.setdefault(store.pk, PreviewGroup(store=store, lines=[])).lines.append(line)
    return list(groups.values())


def checkout_preview(
    *, buyer: User, source: str, variant_id: int | None = None, quantity: object = None
) -> CheckoutPreview:
    """The checkout page's summary, in four queries however many lines (variants, images, options, and
    the cart or not).

    The rules are `orders.services.checkout`'s own (`line_refusal`, `unavailable_error`,
    `quantity_clean`); placing the order checks them again under the locks.
    """
    if source == SOURCE_CART:
        items = with_line_relations(
            CartItem.objects.filter(cart__user=buyer).annotate(variant_is_visible=_is_visible("variant_id")),
            prefix="variant__",
        ).order_by("added_at", "id")
        lines = [
            _preview_line(
                buyer=buyer,
                variant=item.variant,
                quantity=item.quantity,
                is_visible=item.variant_is_visible,
                source=source,
            )
            for item in items
        ]
        return CheckoutPreview(source=source, groups=_grouped(lines), problem=None if lines else CartEmpty.message)
    if source != SOURCE_BUY_NOW:
        return CheckoutPreview(source=source, groups=[], problem=InvalidCheckout.message)
    try:
        quantity = quantity_clean(1 if quantity in (None, "") else quantity)
    except DomainError as exc:
        return CheckoutPreview(source=source, groups=[], problem=exc.message, variant_id=variant_id)
    variant = (
        with_line_relations(ProductVariant.objects.filter(pk=variant_id).annotate(is_visible=_is_visible("pk"))).first()
        if is_valid_id(variant_id)
        else None
    )
    if variant is None or not variant.is_visible:
        error = unavailable_error(title=str(variant) if variant else None, source=source)
        return CheckoutPreview(
            source=source, groups=[], problem=error.message, variant_id=variant_id, quantity=quantity
        )
    line = _preview_line(buyer=buyer, variant=variant, quantity=quantity, is_visible=True, source=source)
    return CheckoutPreview(source=source, groups=_grouped([line]), variant_id=variant_id, quantity=quantity)
