"""The seed_demo step that makes the demo dashboards look alive: a month of past sales.

The hand-written demo orders (orders/demo.py) show every state once, all placed today. This step
adds about 40 single-item Cash on Delivery orders by the demo shoppers, spread over the last 30
days, so the demo sellers' revenue chart and the admin analytics have something to draw. They are
placed and moved on as the demo orders are (orders.demo's helpers), then only their dates are
moved back, which no service can do.

Deterministic (a fixed seed) and idempotent: each order has a fixed key (`demo-history-1` ...),
and one that exists is left alone, dates included. Variants are drawn from the catalog's
specification among the deeply stocked ones, so these sales never make a product "low stock".
"""

import random
from dataclasses import dataclass
from datetime import timedelta

from django.test.utils import override_settings
from django.utils import timezone
from tqdm import tqdm

from accounts.models import User
from analytics.selectors import day_start, shop_today
from catalog.demo import PRIYA, RAVI, demo_products
from joycart.errors import DomainError
from orders.demo import (
    SILENT_MAIL,
    DemoLine,
    DemoOrder,
    DemoSkipped,
    demo_item_move,
    demo_line_variants,
    demo_order_place,
)
from orders.models import Order, OrderEvent, OrderItem, OrderItemStatus

Status = OrderItemStatus
HISTORY_SEED = 30
HISTORY_DAYS = 30
HISTORY_MIN_STOCK = 40  # at most a few units sell per variant, so each product stays far above low stock
HISTORY_BUYERS = ("meera", "arjun")


@dataclass(frozen=True)
class HistoryOrder(DemoOrder):
    days_ago: int = 0
    hour: int = 12
    minute: int = 0

    @property
    def idempotency_key(self) -> str:
        return f"demo-history-{self.number}"


def history_picks() -> dict[str, list[str]]:
    """Each demo seller's deeply stocked variants, as SKUs."""
    deep = [
        (product.seller, variant.sku)
        for product in demo_products()
        for variant in product.variants
        if variant.is_active and variant.stock >= HISTORY_MIN_STOCK
    ]
    return {seller: sorted(sku for owner, sku in deep if owner == seller) for seller in (PRIYA, RAVI)}


def history_orders() -> list[HistoryOrder]:
    """The same list on every run: older orders are delivered (a few cancelled), recent ones still moving."""
    rng = random.Random(HISTORY_SEED)  # noqa: S311 - demo data, not secrets
    picks = history_picks()
    specs = []
    for days_ago in range(HISTORY_DAYS - 1, -1, -1):
        for _ in range(rng.choice((0, 1, 1, 2, 2, 3))):
            seller = rng.choice((PRIYA, RAVI))
            if days_ago >= 5:
                outcome = Status.CANCELLED if rng.random() < 0.1 else Status.DELIVERED
            elif days_ago >= 2:
                outcome = rng.choice((Status.CONFIRMED, Status.SHIPPED, Status.DELIVERED))
            else:
                outcome = rng.choice((Status.PLACED, Status.PLACED, Status.CONFIRMED))
            line = DemoLine(
                seller,
                rng.randrange(len(picks[seller])),
                rng.choice((1, 1, 1, 2)),
                outcome,
                reason="Changed my mind." if outcome == Status.CANCELLED else "",
            )
            specs.append(
                HistoryOrder(
                    len(specs) + 1,
                    rng.choice(HISTORY_BUYERS),
                    (line,),
                    days_ago=days_ago,
                    hour=rng.randint(8, 22),
                    minute=rng.randint(0, 59),
                )
            )
    return specs


def _backdate(order: Order, spec: HistoryOrder) -> None:
    placed_at = day_start(shop_today() - timedelta(days=spec.days_ago)) + timedelta(
        hours=spec.hour, minutes=spec.minute
    )
    placed_at = min(placed_at, timezone.now())  # today's orders are never in the future
    Order.objects.filter(pk=order.pk).update(created_at=placed_at)
    OrderItem.objects.filter(order=order).update(created_at=placed_at)
    OrderEvent.objects.filter(order=order).update(created_at=placed_at)


def seed_sales_history() -> None:
    """The seed_demo step: place the history orders that are missing, move them on, date them back."""
    picks = history_picks()
    specs = history_orders()
    existing = set(
        Order.objects.filter(idempotency_key__in=[spec.idempotency_key for spec in specs]).values_list(
            "idempotency_key", flat=True
        )
    )
    missing = [spec for spec in specs if spec.idempotency_key not in existing]
    buyers = {user.username: user for user in User.objects.filter(username__in=HISTORY_BUYERS)}
    with override_settings(MAILERS=SILENT_MAIL):
        for spec in tqdm(missing, desc="Sales history", unit="order"):
            buyer = buyers.get(spec.buyer)
            if buyer is None:
                raise LookupError(f"demo shopper {spec.buyer} is missing; seed the users first")
            try:
                order = demo_order_place(spec, buyer=buyer, variants=demo_line_variants(spec, picks))
            except (DomainError, DemoSkipped) as refused:
                tqdm.write(f"Skipped demo history order {spec.number}: {refused}")
                continue
            item = order.items.select_related("seller__user").get()
            demo_item_move(spec, spec.lines[0], item, buyer=buyer)
            _backdate(order, spec)
