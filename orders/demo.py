"""The demo orders that `seed_demo` places: the two demo shoppers' orders in every state, so a
newcomer finds a lived-in shop (a timeline to read, buttons to press in the seller portal).

Every order is placed by `checkout_place` and every move made by the lifecycle service, with
the actor who would make it (the seller confirms, ships and delivers; the buyer cancels their
own item), so stock, payments and timelines follow the same rules as real orders.

Idempotent: each demo order has a fixed idempotency key (`demo-order-1` ...), so a second run
finds it instead of placing it again, and a move is made only while the item still waits in
the status the move starts from. Variants are picked from the demo catalog's specification
(not from live stock), so every run picks the same ones.

The demo mails nobody: the demo addresses are made up, and with the console backend two dozen
e-mails would bury the progress bars.
"""

from collections import Counter
from dataclasses import dataclass
from itertools import chain, zip_longest

from django.db import transaction
from django.test.utils import override_settings
from tqdm import tqdm

from accounts.models import User
from accounts.selectors import user_default_address
from cart.selectors import user_cart_items
from cart.services import cart_item_add
from catalog.demo import DEMO_SHELVES, PRIYA, RAVI, demo_products
from catalog.models import ProductVariant
from joycart.errors import DomainError
from orders.models import Order, OrderItem, OrderItemStatus, PaymentMethod
from orders.services.checkout import SOURCE_BUY_NOW, SOURCE_CART, checkout_place
from orders.services.lifecycle import order_item_cancel, order_item_confirm, order_item_deliver, order_item_ship

Status = OrderItemStatus

# Only variants the demo catalog stocks at least this deep, so the demo's sales never turn a
# product into a "low stock" or "sold out" one (the catalog's demo counts those).
MIN_PICK_STOCK = 10
DEMO_CARRIER = "Delhivery"
SILENT_MAIL = {"default": {"BACKEND": "django.core.mail.backends.dummy.EmailBackend"}}


@dataclass(frozen=True)
class DemoLine:
    seller: str  # the demo seller whose variant it is
    pick: int  # which of that seller's picks (`demo_picks`)
    quantity: int
    outcome: str  # where the item ends up
    reason: str = ""  # why it was cancelled
    cancelled_by: str = "buyer"  # or "seller"


@dataclass(frozen=True)
class DemoOrder:
    number: int
    buyer: str
    lines: tuple[DemoLine, ...]

    @property
    def idempotency_key(self) -> str:
        return f"demo-order-{self.number}"

    @property
    def tracking_number(self) -> str:
        return f"JCDEMO{self.number:06d}IN"


DEMO_ORDERS = [
    DemoOrder(1, "meera", (DemoLine(PRIYA, 0, 1, Status.PLACED),)),
    DemoOrder(2, "arjun", (DemoLine(RAVI, 0, 1, Status.CONFIRMED),)),
    DemoOrder(3, "meera", (DemoLine(RAVI, 1, 2, Status.SHIPPED),)),
    DemoOrder(4, "arjun", (DemoLine(PRIYA, 1, 1, Status.DELIVERED),)),
    DemoOrder(5, "meera", (DemoLine(RAVI, 2, 1, Status.DELIVERED),)),
    DemoOrder(
        6,
        "arjun",
        (DemoLine(PRIYA, 2, 1, Status.CANCELLED, reason="Ordered the wrong size by mistake."),),
    ),
    DemoOrder(
        7,
        "meera",
        (
            DemoLine(PRIYA, 3, 1, Status.CONFIRMED),
            DemoLine(
                RAVI,
                3,
                1,
                Status.CANCELLED,
                reason="The last piece failed our quality check. Sorry!",
                cancelled_by="seller",
            ),
        ),
    ),
]

# The moves from PLACED to each outcome: (the status the move starts from, the move).
_PATHS = {
    Status.PLACED: (),
    Status.CONFIRMED: ((Status.PLACED, Status.CONFIRMED),),
    Status.SHIPPED: ((Status.PLACED, Status.CONFIRMED), (Status.CONFIRMED, Status.SHIPPED)),
    Status.DELIVERED: (
        (Status.PLACED, Status.CONFIRMED),
        (Status.CONFIRMED, Status.SHIPPED),
        (Status.SHIPPED, Status.DELIVERED),
    ),
    Status.CANCELLED: ((Status.PLACED, Status.CANCELLED),),
}


def demo_picks() -> dict[str, list[str]]:
    """Each demo seller's variants for the demo orders, as SKUs: one product per shelf in turn, so
    the orders span categories, and of each product its middle well-stocked variant, so the
    orders show options. Deterministic: drawn from the catalog's fixed specification."""
    middle_deep = {}  # (seller, category) -> the SKU picked of each product, in product order
    for product in sorted(demo_products(), key=lambda product: product.code):
        deep = [variant for variant in product.variants if variant.is_active and variant.stock >= MIN_PICK_STOCK]
        if deep:
            middle_deep.setdefault((product.seller, product.category), []).append(deep[len(deep) // 2].sku)
    picks = {}
    for seller in (PRIYA, RAVI):
        shelves = [middle_deep.get((seller, shelf.category), []) for shelf in DEMO_SHELVES if shelf.seller == seller]
        picks[seller] = [sku for sku in chain.from_iterable(zip_longest(*shelves)) if sku is not None]
    return picks


class DemoSkipped(Exception):
    """A demo order that cannot be placed in this database as it is now; the others go ahead."""


def demo_line_variants(spec: DemoOrder, picks: dict[str, list[str]]) -> list[ProductVariant]:
    skus = [picks[line.seller][line.pick] for line in spec.lines]
    found = {
        variant.sku: variant
        for variant in ProductVariant.objects.filter(sku__in=skus)
        .select_related("product__store")
        .prefetch_related("product__options")
    }
    missing = [sku for sku in skus if sku not in found]
    if missing:
        raise LookupError(f"demo variants missing: {', '.join(missing)}; seed the catalog first")
    return [found[sku] for sku in skus]


def demo_order_place(spec: DemoOrder, *, buyer: User, variants: list[ProductVariant]) -> Order:
    address = user_default_address(user=buyer)
    if address is None:
        raise LookupError(f"demo shopper {buyer.username} has no address; seed the users first")
    common = {
        "buyer": buyer,
        "address_id": address.pk,
        "payment_method": PaymentMethod.COD,
        "idempotency_key": spec.idempotency_key,
    }
    if len(spec.lines) == 1:
        order, _created = checkout_place(
            source=SOURCE_BUY_NOW, variant_id=variants[0].pk, quantity=spec.lines[0].quantity, **common
        )
        return order
    # A cart checkout takes every line of the cart; lines the shopper put there are theirs.
    if user_cart_items(user=buyer).exists():
        raise DemoSkipped(f"{buyer.username}'s cart is not empty")
    with transaction.atomic():  # a refused checkout leaves no demo lines in the cart
        for line, variant in zip(spec.lines, variants, strict=True):
            cart_item_add(user=buyer, variant_id=variant.pk, quantity=line.quantity)
        order, _created = checkout_place(source=SOURCE_CART, **common)
    return order


def demo_item_move(spec: DemoOrder, line: DemoLine, item: OrderItem, *, buyer: User) -> None:
    """Take the item along its path, from wherever it is now; a move already made is skipped."""
    seller = item.seller.user
    for from_status, to_status in _PATHS[line.outcome]:
        if item.status != from_status:
            continue
        if to_status == Status.CONFIRMED:
            item = order_item_confirm(item_id=item.pk, actor=seller)
        elif to_status == Status.SHIPPED:
            item = order_item_ship(
                item_id=item.pk, actor=seller, carrier=DEMO_CARRIER, tracking_number=spec.tracking_number
            )
        elif to_status == Status.DELIVERED:
            item = order_item_deliver(item_id=item.pk, actor=seller)
        else:
            actor = seller if line.cancelled_by == "seller" else buyer
            item = order_item_cancel(item_id=item.pk, actor=actor, reason=line.reason)


def seed_orders() -> None:
    """The seed_demo step: place the demo orders that are missing, then move every demo item on."""
    picks = demo_picks()
    buyers = {user.username: user for user in User.objects.filter(username__in={o.buyer for o in DEMO_ORDERS})}
    with override_settings(MAILERS=SILENT_MAIL):
        for spec in tqdm(DEMO_ORDERS, desc="Orders", unit="order"):
            buyer = buyers.get(spec.buyer)
            if buyer is None:
                raise LookupError(f"demo shopper {spec.buyer} is missing; seed the users first")
            variants = demo_line_variants(spec, picks)
            order = Order.objects.filter(buyer=buyer, idempotency_key=spec.idempotency_key).first()
            if order is None:
                try:
                    order = demo_order_place(spec, buyer=buyer, variants=variants)
                except (DomainError, DemoSkipped) as refused:
                    tqdm.write(f"Skipped demo order {spec.number}: {refused}")
                    continue
            items = {item.variant_id: item for item in order.items.select_related("seller__user")}
            for line, variant in zip(spec.lines, variants, strict=True):
                item = items.get(variant.pk)
                if item is not None:
                    demo_item_move(spec, line, item, buyer=buyer)


def orders_summary() -> str:
    """The line seed_demo prints: how many orders there are, and where their items stand."""
    statuses = Counter(OrderItem.objects.values_list("status", flat=True))
    shown = ", ".join(
        f"{statuses[status]} {Status(status).label.lower()}" for status in Status.values if statuses[status]
    )
    return f"Orders: {Order.objects.count()} orders" + (f"; items {shown}" if shown else "")
