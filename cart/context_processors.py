from django.utils.functional import SimpleLazyObject

from cart.guest import guest_cart_item_count
from cart.selectors import cart_item_count


def cart_summary(request) -> dict:
    """The nav badge, computed only if a template renders it: one query for a shopper, none for a guest."""

    def count() -> int:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            return cart_item_count(user=user)
        return guest_cart_item_count(request)

    return {"cart_item_count": SimpleLazyObject(count)}
