"""Row locks of the cart app: a shopper's Cart row.

The cart is locked before anything else a checkout locks (the products it buys), and nothing
locks a cart while holding another lock; see the global order in docs/architecture.md.
"""

from cart.models import Cart


def cart_lock(*, user_id: int) -> Cart | None:
    """Lock the shopper's cart, if they have one.

    Every change to a cart, and checking it out, takes this lock: concurrent changes queue up,
    and a second checkout of the same cart waits, then finds it empty.
    """
    return Cart.objects.select_for_update().filter(user_id=user_id).first()
