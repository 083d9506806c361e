from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from cart.serializers import QuantityField
from joycart.ids import MAX_ID
from joycart.serializers import StrictJSONInput
from orders.models import ActorRole, OrderItemStatus, OrderStatus, PaymentMethod
from orders.services.checkout import SOURCE_BUY_NOW, SOURCES
from orders.transitions import allowed_targets
from payments.models import PaymentStatus, RefundStatus
from payments.selectors import payment_deadline, razorpay_checkout_options

MONEY = {"max_digits": 12, "decimal_places": 2}

# The seller API's action paths, by the status each one moves an item to.
SELLER_ACTIONS = {
    OrderItemStatus.CONFIRMED: "confirm",
    OrderItemStatus.SHIPPED: "ship",
    OrderItemStatus.DELIVERED: "deliver",
    OrderItemStatus.CANCELLED: "cancel",
}


# --- Input ------------------------------------------------------------------------------


class CheckoutInputSerializer(StrictJSONInput, serializers.Serializer):
    """No prices and no seller: the server takes them from the catalog. The address is one of yours."""

    source = serializers.ChoiceField(choices=SOURCES)
    variant_id = serializers.IntegerField(
        min_value=1, max_value=MAX_ID, required=False, allow_null=True, help_text="What to buy now."
    )
    product_id = serializers.IntegerField(
        min_value=1,
        max_value=MAX_ID,
        required=False,
        allow_null=True,
        help_text="Instead of `variant_id`, for a product with one variant; several answer `variant_required`.",
    )
    quantity = QuantityField(required=False)
    address_id = serializers.IntegerField(min_value=1, max_value=MAX_ID)
    payment_method = serializers.ChoiceField(choices=PaymentMethod.choices)

    def validate(self, attrs):
        if attrs["source"] == SOURCE_BUY_NOW and attrs.get("variant_id") is None and attrs.get("product_id") is None:
            raise serializers.ValidationError({"variant_id": "Choose the variant to buy now."})
        return attrs


class CancelInputSerializer(StrictJSONInput, serializers.Serializer):
    """The reason is checked by the service, so a missing or blank one is `reason_required`."""

    reason = serializers.CharField(required=False, allow_blank=True, default="", trim_whitespace=True)


class ShipInputSerializer(StrictJSONInput, serializers.Serializer):
    carrier = serializers.CharField(required=False, allow_blank=True, default="", max_length=60)
    tracking_number = serializers.CharField(required=False, allow_blank=True, default="", max_length=60)


# --- Output -----------------------------------------------------------------------------


class RazorpayCheckoutSerializer(serializers.Serializer):
    """Razorpay Checkout's options for this order (`new Razorpay({key: key_id, order_id, amount, ...})`)."""

    key_id = serializers.CharField()
    order_id = serializers.CharField(help_text="The gateway order id; the payment signature is checked against it.")
    amount = serializers.IntegerField(help_text="In paise.")
    currency = serializers.CharField()
    name = serializers.CharField()
    description = serializers.CharField()
    callback_url = serializers.URLField(allow_null=True, help_text="The page callback that takes Checkout's POST.")
    checkout_url = serializers.URLField(allow_null=True, help_text="Sandbox mode only: its checkout page.")


class PaymentFailureSerializer(serializers.Serializer):
    code = serializers.CharField(
        source="failure_code", help_text="Razorpay's error code (e.g. BAD_REQUEST_ERROR): the gateway's list, not ours."
    )
    reason = serializers.CharField(source="failure_reason")
    at = serializers.DateTimeField(source="failed_at")


class _OnlinePaymentField(serializers.Field):
    """Output only, from the whole payment; optional in the schema because Cash on Delivery leaves it out."""

    def __init__(self, **kwargs):
        super().__init__(source="*", required=False, **kwargs)


@extend_schema_field(serializers.DateTimeField())
class PayByField(_OnlinePaymentField):
    def to_representation(self, payment):
        return serializers.DateTimeField().to_representation(payment_deadline(order=payment.order))


@extend_schema_field(PaymentFailureSerializer(allow_null=True))
class LastFailureField(_OnlinePaymentField):
    def to_representation(self, payment):
        return PaymentFailureSerializer(payment).data if payment.failed_at is not None else None


@extend_schema_field(RazorpayCheckoutSerializer(allow_null=True))
class RazorpayCheckoutField(_OnlinePaymentField):
    def to_representation(self, payment):
        return razorpay_checkout_options(order=payment.order, request=self.context.get("request"))


class PaymentSerializer(serializers.Serializer):
    """Cash on Delivery has the first five fields; online payments have the rest as well."""

    ONLINE_FIELDS = ("captured_at", "verified_at", "refunded_amount", "pay_by", "last_failure", "razorpay")

    method = serializers.ChoiceField(choices=PaymentMethod.choices)
    status = serializers.ChoiceField(choices=PaymentStatus.choices)
    amount = serializers.DecimalField(**MONEY)
    currency = serializers.CharField()
    collected_at = serializers.DateTimeField(allow_null=True)
    captured_at = serializers.DateTimeField(allow_null=True, required=False, help_text="Online: confirmed by Razorpay.")
    verified_at = serializers.DateTimeField(
        allow_null=True, required=False, help_text="Online: the checkout's signature was valid; confirming."
    )
    refunded_amount = serializers.DecimalField(
        **MONEY, required=False, help_text="Online: every refund not FAILED, on its way or done."
    )
    pay_by = PayByField(help_text="Online: the reservation ends; unpaid, the order is cancelled.")
    last_failure = LastFailureField(help_text="Online: the last failed attempt, if any.")
    razorpay = RazorpayCheckoutField(
        help_text="Online, while awaiting payment with a gateway order: Razorpay Checkout's options."
    )

    def to_representation(self, payment):
        data = super().to_representation(payment)
        if payment.method != PaymentMethod.ONLINE:
            for name in self.ONLINE_FIELDS:
                data.pop(name)
        return data


class ShippingAddressSerializer(serializers.Serializer):
    """The address as it was at checkout (`source="*"` on an order)."""

    name = serializers.CharField(source="ship_name")
    phone = serializers.CharField(source="ship_phone")
    line1 = serializers.CharField(source="ship_line1")
    line2 = serializers.CharField(source="ship_line2")
    city = serializers.CharField(source="ship_city")
    state = serializers.CharField(source="ship_state")
    pincode = serializers.CharField(source="ship_pincode")


class OrderEventSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    item_id = serializers.IntegerField(allow_null=True)
    actor_role = serializers.ChoiceField(choices=ActorRole.choices)
    actor_name = serializers.SerializerMethodField()
    from_status = serializers.ChoiceField(
        choices=OrderItemStatus.choices, allow_blank=True, help_text="Blank when placed."
    )
    to_status = serializers.ChoiceField(choices=OrderItemStatus.choices)
    reason = serializers.CharField()
    created_at = serializers.DateTimeField()

    @extend_schema_field(serializers.CharField())
    def get_actor_name(self, event) -> str:
        """Who acted, as others may see it: a person's name, or JoyCart for staff and the system."""
        if event.actor_role in (ActorRole.STAFF, ActorRole.SYSTEM) or event.actor is None:
            return "JoyCart"
        return event.actor.display_name


class ItemRefundSerializer(serializers.Serializer):
    """The money coming back for a cancelled, paid item: INITIATED and PROCESSING are on their way."""

    status = serializers.ChoiceField(choices=RefundStatus.choices)
    amount = serializers.DecimalField(**MONEY)


def item_refund(item) -> dict | None:
    """From the `refund_status`/`refund_amount` annotations of `orders.selectors.with_refund`."""
    if getattr(item, "refund_status", None) is None:
        return None
    return ItemRefundSerializer({"status": item.refund_status, "amount": item.refund_amount}).data


class OrderItemSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    product_id = serializers.IntegerField()
    variant_id = serializers.IntegerField()
    title = serializers.CharField()
    sku = serializers.CharField()
    options = serializers.CharField(
        help_text='The variant as bought, e.g. "Size: XL, Colour: Blue"; blank without options.'
    )
    seller_name = serializers.CharField(source="seller.name")
    quantity = serializers.IntegerField()
    unit_price = serializers.DecimalField(**MONEY)
    line_total = serializers.DecimalField(max_digits=14, decimal_places=2)
    status = serializers.ChoiceField(choices=OrderItemStatus.choices)
    carrier = serializers.CharField()
    tracking_number = serializers.CharField()
    can_cancel = serializers.SerializerMethodField()
    refund = serializers.SerializerMethodField()

    def get_can_cancel(self, item) -> bool:
        return OrderItemStatus.CANCELLED in allowed_targets(from_status=item.status, role=ActorRole.BUYER)

    @extend_schema_field(ItemRefundSerializer(allow_null=True))
    def get_refund(self, item) -> dict | None:
        """Null unless the item was cancelled after an online payment was captured."""
        return item_refund(item)


class OrderSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.CharField()
    status = serializers.ChoiceField(choices=OrderStatus.choices)
    total = serializers.DecimalField(**MONEY)
    payment_method = serializers.ChoiceField(choices=PaymentMethod.choices)
    payment = PaymentSerializer()
    items = OrderItemSerializer(many=True)
    address = ShippingAddressSerializer(source="*")
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class OrderDetailSerializer(OrderSerializer):
    """An order with its whole timeline: every item's moves, oldest first."""

    events = OrderEventSerializer(many=True)


class SellerOrderSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.CharField()
    created_at = serializers.DateTimeField()


class SellerPaymentSerializer(serializers.Serializer):
    """Method and status only: the amount covers other sellers' items too."""

    method = serializers.ChoiceField(choices=PaymentMethod.choices)
    status = serializers.ChoiceField(choices=PaymentStatus.choices)


class SellerOrderItemSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    order = SellerOrderSerializer()
    product_id = serializers.IntegerField()
    variant_id = serializers.IntegerField()
    title = serializers.CharField()
    sku = serializers.CharField()
    options = serializers.CharField(
        help_text='The variant as bought, e.g. "Size: XL, Colour: Blue"; blank without options.'
    )
    quantity = serializers.IntegerField()
    unit_price = serializers.DecimalField(**MONEY)
    amount = serializers.DecimalField(source="line_total", max_digits=14, decimal_places=2)
    status = serializers.ChoiceField(choices=OrderItemStatus.choices)
    carrier = serializers.CharField()
    tracking_number = serializers.CharField()
    buyer_name = serializers.CharField(source="order.buyer.display_name")
    shipping_address = ShippingAddressSerializer(source="order")
    payment = SellerPaymentSerializer(source="order.payment")
    actions = serializers.SerializerMethodField()
    events = OrderEventSerializer(many=True, help_text="This item's timeline, oldest first.")
    refund = serializers.SerializerMethodField()

    @extend_schema_field(serializers.ListField(child=serializers.ChoiceField(choices=list(SELLER_ACTIONS.values()))))
    def get_actions(self, item) -> list[str]:
        """What the seller can do with the item now: the POST sub-resources that will succeed."""
        return [SELLER_ACTIONS[target] for target in allowed_targets(from_status=item.status, role=ActorRole.SELLER)]

    @extend_schema_field(ItemRefundSerializer(allow_null=True))
    def get_refund(self, item) -> dict | None:
        """The buyer's refund for this item, if it was cancelled after an online payment."""
        return item_refund(item)
