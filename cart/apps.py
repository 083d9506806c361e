from django.apps import AppConfig


class CartConfig(AppConfig):
    name = "cart"
    verbose_name = "Cart"

    def ready(self) -> None:
        from accounts.user_snapshot import connect_owner_signals
        from cart.models import Cart, CartItem

        # The nav's cart count is part of the owner's cached page user.
        connect_owner_signals(Cart, owner_id=lambda cart, origin: cart.user_id)
        connect_owner_signals(CartItem, owner_id=_cart_owner_id)


def _cart_owner_id(item, origin) -> int | None:
    from accounts.user_snapshot import delete_memo
    from cart.models import CartItem
    from cart.selectors import cart_owner_id

    if CartItem.cart.is_cached(item):
        return item.cart.user_id
    # Lines deleted together (checkout, an emptied cart) look their cart's owner up once.
    owners = delete_memo(origin, "_cart_owners", dict)
    if item.cart_id not in owners:
        owners[item.cart_id] = cart_owner_id(cart_id=item.cart_id)
    return owners[item.cart_id]
