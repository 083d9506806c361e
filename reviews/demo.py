"""The demo reviews that `seed_demo` writes: each demo shopper reviews what was delivered to them,
through `review_create`, so the product pages show ratings and the averages follow the real rules.

Idempotent: a review that exists is left as it is, and an item not delivered (yet) is skipped.
"""

from dataclasses import dataclass

from tqdm import tqdm

from accounts.models import User
from joycart.errors import DomainError
from orders.demo import DEMO_ORDERS
from orders.models import OrderItem, OrderItemStatus
from reviews.models import Review
from reviews.services import review_create


@dataclass(frozen=True)
class DemoReview:
    order: int  # the demo order (orders.demo.DEMO_ORDERS) whose delivered item is reviewed
    rating: int
    comment: str


DEMO_REVIEWS = [
    DemoReview(4, 5, "Soft cotton, a good fit, and the colour is exactly as in the photos. Arrived well packed."),
    DemoReview(5, 4, "Lovely essays for a slow Sunday. One star off: the dust jacket came with a small tear."),
]


def seed_reviews() -> None:
    """The seed_demo step: each demo order's buyer reviews the item delivered to them."""
    orders = {spec.number: spec for spec in DEMO_ORDERS}
    for spec in tqdm(DEMO_REVIEWS, desc="Reviews", unit="review"):
        order = orders[spec.order]
        item = (
            OrderItem.objects.filter(
                order__buyer__username=order.buyer,
                order__idempotency_key=order.idempotency_key,
                status=OrderItemStatus.DELIVERED,
            )
            .select_related("order__buyer")
            .first()
        )
        if item is None:
            tqdm.write(f"Skipped a demo review: demo order {spec.order} has no delivered item")
            continue
        buyer: User = item.order.buyer
        if Review.objects.filter(user=buyer, product_id=item.product_id).exists():
            continue
        try:
            review_create(user=buyer, product_id=item.product_id, rating=spec.rating, comment=spec.comment)
        except DomainError as refused:
            tqdm.write(f"Skipped a demo review of order {spec.order}: {refused}")
