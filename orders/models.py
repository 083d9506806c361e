"""Orders: what a buyer bought, from whom, at what price, and where each item is now.

Everything an order shows later is a snapshot taken at checkout (address, title, SKU,
unit price, seller), so editing or deleting the product never rewrites history.
"""

from django.conf import settings
from django.db import models

from accounts.models import IndianState, Store
from catalog.models import MONEY, Product, ProductVariant

MIN_QUANTITY = 1
MAX_QUANTITY = 10


class PaymentMethod(models.TextChoices):
    COD = "COD", "Cash on Delivery"
    ONLINE = "ONLINE", "Online (Razorpay)"


class OrderStatus(models.TextChoices):
    """Derived from the items (orders.services.lifecycle.order_status_derive); never set by hand."""

    PENDING_PAYMENT = "PENDING_PAYMENT", "Awaiting payment"
    PLACED = "PLACED", "Placed"
    PARTIALLY_CANCELLED = "PARTIALLY_CANCELLED", "Partially cancelled"
    CANCELLED = "CANCELLED", "Cancelled"
    COMPLETED = "COMPLETED", "Completed"


class OrderItemStatus(models.TextChoices):
    PENDING_PAYMENT = "PENDING_PAYMENT", "Awaiting payment"
    PLACED = "PLACED", "Placed"
    CONFIRMED = "CONFIRMED", "Confirmed"
    SHIPPED = "SHIPPED", "Shipped"
    DELIVERED = "DELIVERED", "Delivered"
    RETURN_REQUESTED = "RETURN_REQUESTED", "Return requested"
    RETURN_APPROVED = "RETURN_APPROVED", "Return approved"
    RETURN_REJECTED = "RETURN_REJECTED", "Return rejected"
    RETURN_ESCALATED = "RETURN_ESCALATED", "Return escalated to JoyCart"
    RETURN_RECEIVED = "RETURN_RECEIVED", "Return received"
    RETURNED = "RETURNED", "Returned"
    CANCELLED = "CANCELLED", "Cancelled"


# After delivery: the item reached the buyer, and anything that happens to it now is a return.
DELIVERED_STATUSES = frozenset(
    {
        OrderItemStatus.DELIVERED,
        OrderItemStatus.RETURN_REQUESTED,
        OrderItemStatus.RETURN_APPROVED,
        OrderItemStatus.RETURN_REJECTED,
        OrderItemStatus.RETURN_ESCALATED,
        OrderItemStatus.RETURN_RECEIVED,
        OrderItemStatus.RETURNED,
    }
)
# Delivered, then asked back: every item a return is (or was) under way for, refused ones included.
RETURN_STATUSES = DELIVERED_STATUSES - {OrderItemStatus.DELIVERED}


class Order(models.Model):
    buyer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="orders")
    # "JC-000123": set from the primary key right after insert, in the same transaction.
    # NULL (not "") until then, because unique allows many NULLs but only one "".
    number = models.CharField(max_length=20, unique=True, null=True, editable=False)  # noqa: DJ001
    status = models.CharField(max_length=24, choices=OrderStatus.choices, db_index=True)
    payment_method = models.CharField(max_length=10, choices=PaymentMethod.choices)
    total = models.DecimalField(**MONEY)  # sum of the lines at checkout; never changes afterwards

    # The checkout request that made this order: a retry with the same key returns it.
    idempotency_key = models.CharField(max_length=100)
    request_fingerprint = models.CharField(max_length=64)

    # Where it goes, copied from the buyer's address at checkout.
    ship_name = models.CharField("full name", max_length=100)
    ship_phone = models.CharField("phone", max_length=15)
    ship_line1 = models.CharField("address line 1", max_length=200)
    ship_line2 = models.CharField("address line 2", max_length=200, blank=True)
    ship_city = models.CharField("city", max_length=100)
    ship_state = models.CharField("state", max_length=2, choices=IndianState.choices)
    ship_pincode = models.CharField("PIN code", max_length=6)

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["buyer", "idempotency_key"], name="orders_order_one_per_idempotency_key"),
            models.CheckConstraint(condition=models.Q(total__gt=0), name="orders_order_total_positive"),
        ]
        indexes = [models.Index(fields=["buyer", "-created_at"], name="orders_order_buyer_newest")]

    def __str__(self) -> str:
        return self.number or f"Order #{self.pk}"

    @property
    def shipping_address_lines(self) -> list[str]:
        lines = [
            self.ship_name,
            self.ship_line1,
            self.ship_line2,
            f"{self.ship_city}, {self.get_ship_state_display()} {self.ship_pincode}",
            f"Phone {self.ship_phone}",
        ]
        return [line for line in lines if line]


class OrderItem(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="items")
    # PROTECT: a product that ever sold cannot be deleted (catalog.services.products.product_delete).
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="order_items")
    # PROTECT too: a variant that ever sold is deactivated, never deleted; cancelling restocks it.
    variant = models.ForeignKey(ProductVariant, on_delete=models.PROTECT, related_name="order_items")
    seller = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="order_items")
    title = models.CharField(max_length=200)
    sku = models.CharField("SKU", max_length=64)
    # The variant's option values as bought: "Size: XL, Colour: Blue"; blank for a product without options.
    options = models.CharField(max_length=320, blank=True)
    unit_price = models.DecimalField(**MONEY)
    quantity = models.PositiveSmallIntegerField()
    status = models.CharField(max_length=20, choices=OrderItemStatus.choices, db_index=True)
    carrier = models.CharField(max_length=60, blank=True)
    tracking_number = models.CharField(max_length=60, blank=True)
    # The return policy of the product's category at checkout: 0 is not returnable.
    return_window_days = models.PositiveSmallIntegerField(default=0)
    # When it was delivered: the return window runs from here.
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(quantity__gte=MIN_QUANTITY, quantity__lte=MAX_QUANTITY),
                name="orders_item_quantity_1_to_10",
            ),
            models.CheckConstraint(condition=models.Q(unit_price__gt=0), name="orders_item_unit_price_positive"),
        ]
        indexes = [models.Index(fields=["seller", "status", "-created_at"], name="orders_item_seller_status")]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.name}"  # noqa: RUF001 - the multiplication sign is meant

    @property
    def name(self) -> str:
        """The title with the variant bought: "Kurta (Size: XL, Colour: Blue)"."""
        return f"{self.title} ({self.options})" if self.options else self.title

    @property
    def line_total(self):
        return self.unit_price * self.quantity


# An item's return request and its payout, at most one each (reverse one-to-ones): the selectors join them
# to the item, so they cost no query of their own.
RETURN_RELATIONS = ("return_request", "payout")


class ReturnReason(models.TextChoices):
    DAMAGED = "damaged", "Arrived damaged"
    WRONG_ITEM = "wrong_item", "Wrong item sent"
    NOT_AS_DESCRIBED = "not_as_described", "Not as described"
    SIZE_FIT = "size_fit", "Size or fit"
    CHANGED_MIND = "changed_mind", "Changed my mind"
    OTHER = "other", "Other"


class RefundTo(models.TextChoices):
    """Where a Cash on Delivery item's money goes back: an account the buyer names."""

    UPI = "upi", "UPI"
    BANK = "bank", "Bank account"


class ReturnRequest(models.Model):
    """A buyer's request to return a delivered item, and what became of it.

    One per item at a time: withdrawing it deletes the row (its events stay on the timeline), so the
    buyer may ask again while the window is open. For Cash on Delivery, the account the money goes
    back to is stored encrypted (`joycart.crypto`) and shown masked everywhere but to staff paying it.
    """

    item = models.OneToOneField(OrderItem, on_delete=models.CASCADE, related_name="return_request")
    reason = models.CharField(max_length=20, choices=ReturnReason.choices)
    comment = models.CharField(max_length=1000, blank=True)
    refund_to_kind = models.CharField(max_length=4, choices=RefundTo.choices, blank=True)
    refund_to_encrypted = models.TextField(blank=True, editable=False)
    refund_to_masked = models.CharField(max_length=80, blank=True)
    rejection_reason = models.CharField(max_length=500, blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)
    resellable = models.BooleanField(null=True, blank=True)
    requested_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-requested_at", "-id"]

    def __str__(self) -> str:
        return f"Return of {self.item}: {self.get_reason_display()}"


class ActorRole(models.TextChoices):
    BUYER = "BUYER", "Buyer"
    SELLER = "SELLER", "Seller"
    STAFF = "STAFF", "Staff"
    SYSTEM = "SYSTEM", "System"


class OrderEvent(models.Model):
    """One line of the timeline: who moved what from where to where, and why."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="events")
    item = models.ForeignKey(OrderItem, null=True, blank=True, on_delete=models.CASCADE, related_name="events")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_role = models.CharField(max_length=10, choices=ActorRole.choices)
    from_status = models.CharField(max_length=20, blank=True)
    to_status = models.CharField(max_length=20)
    reason = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.order}: {self.from_status or '-'} → {self.to_status}"
