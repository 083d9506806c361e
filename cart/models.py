from django.conf import settings
from django.db import models

from accounts.user_snapshot import ForgetsCachedUsersQuerySet
from catalog.models import ProductVariant

MIN_QUANTITY = 1
MAX_QUANTITY = 10
# Keeps the cart page one screen of rows (it is not paginated) and the guest cookie small.
MAX_LINES = 50


class Cart(models.Model):
    """One per shopper, created on the first add. Guests keep theirs in a signed cookie instead."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="cart")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    # The owner's cached page user carries the nav's cart count (accounts.user_snapshot).
    objects = ForgetsCachedUsersQuerySet.as_manager()

    def __str__(self) -> str:
        return f"Cart of {self.user}"


class CartItemQuerySet(ForgetsCachedUsersQuerySet):
    user_id_lookup = "cart__user_id"

    def user_ids_of(self, objs) -> set[int]:
        return set(Cart.objects.filter(pk__in={item.cart_id for item in objs}).values_list("user_id", flat=True))


class CartItem(models.Model):
    """A variant of a product and how many. No price is stored: the cart always shows the current price."""

    cart = models.ForeignKey(Cart, on_delete=models.CASCADE, related_name="items")
    variant = models.ForeignKey(ProductVariant, on_delete=models.CASCADE, related_name="cart_items")
    quantity = models.PositiveSmallIntegerField()
    added_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = CartItemQuerySet.as_manager()

    class Meta:
        ordering = ["added_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["cart", "variant"], name="cart_item_one_line_per_variant"),
            models.CheckConstraint(
                condition=models.Q(quantity__gte=MIN_QUANTITY, quantity__lte=MAX_QUANTITY),
                name="cart_item_quantity_1_to_10",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} of {self.variant}"
