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
    from cart.models import Cart, CartItem

    if CartItem.cart.is_cached(item):
        return item.cart.user_id
    # Lines deleted together (checkout, an emptied cart) look their cart's owner up once.
    owners = getattr(origin, "_cart_owners", None)
    if owners is None:
        owners = {}
        if origin is not None:
            origin._cart_owners = owners
    if item.cart_id not in owners:
        owners[item.cart_id] = Cart.objects.filter(pk=item.cart_id).values_list("user_id", flat=True).first()
    return owners[item.cart_id]
