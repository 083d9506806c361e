from django.apps import AppConfig


class CartConfig(AppConfig):
    name = "cart"
    verbose_name = "Cart"

    def ready(self) -> None:
        from accounts.user_snapshot import connect_owner_signals
        from cart.models import Cart, CartItem

        # The nav's cart count is part of the owner's cached page user.
        connect_owner_signals(Cart, owner_id=lambda cart: cart.user_id)
        connect_owner_signals(CartItem, owner_id=_cart_owner_id)


def _cart_owner_id(item) -> int | None:
    from cart.models import Cart, CartItem

    if CartItem.cart.is_cached(item):
        return item.cart.user_id
    return Cart.objects.filter(pk=item.cart_id).values_list("user_id", flat=True).first()
