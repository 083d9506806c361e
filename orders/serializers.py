from collections.abc import Mapping

from django.core.exceptions import ObjectDoesNotExist
from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema_field
from rest_framework import serializers

from cart.serializers import QuantityField
from joycart.ids import MAX_ID
from joycart.serializers import StrictJSONInput
from orders.models import ActorRole, OrderItemStatus, OrderStatus, PaymentMethod, ReturnReason
from orders.services.checkout import SOURCE_BUY_NOW, SOURCES
from orders.services.lifecycle import MAX_REASON_LENGTH
from orders.services.returns import MAX_COMMENT_LENGTH, return_deadline, return_window_refusal
from orders.transitions import allowed_targets
from payments.models import PaymentStatus, PayoutStatus, RefundStatus
from payments.selectors import payment_deadline, razorpay_checkout_options

MONEY = {"max_digits": 12, "decimal_places": 2}

# The seller API's action paths, by the status each one moves an item to.
SELLER_ACTIONS = {
    OrderItemStatus.CONFIRMED: "confirm",
    OrderItemStatus.SHIPPED: "ship",
    OrderItemStatus.DELIVERED: "deliver",
    OrderItemStatus.CANCELLED: "cancel",
    OrderItemStatus.RETURN_APPROVED: "return-approve",
    OrderItemStatus.RETURN_REJECTED: "return-reject",
    OrderItemStatus.RETURN_RECEIVED: "return-receive",
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


class UpiAccountSerializer(serializers.Serializer):
    upi_id = serializers.CharField(help_text="Like name@bank.")


class BankAccountSerializer(serializers.Serializer):
    account_name = serializers.CharField(help_text="The name on the account, up to 100 characters.")
    account_number = serializers.CharField(help_text="9 to 18 digits; spaces are ignored.")
    ifsc = serializers.CharField(help_text="The branch's IFSC, like HDFC0001234.")


@extend_schema_field(
    PolymorphicProxySerializer(
        component_name="RefundAccount",
        serializers=[UpiAccountSerializer, BankAccountSerializer],
        resource_type_field_name=None,
    )
)
class RefundAccountField(serializers.Field):
    """A UPI id or a bank account, passed on as sent: its shape is the service's to check
    (`refund_account_clean`, `invalid_refund_account`), here only that it is an object of strings."""

    default_error_messages = {
        "invalid": "Send an object: {{upi_id}} or {{account_name, account_number, ifsc}}.",
        "not_text": "Send each of its values as a string.",
    }

    def to_internal_value(self, data):
        if not isinstance(data, Mapping) or not data:
            self.fail("invalid")
        if not all(isinstance(value, str) for value in data.values()):
            self.fail("not_text")
        return dict(data)

    def to_representation(self, value):
        raise NotImplementedError("The account is input only: responses show it masked.")


class ReturnInputSerializer(StrictJSONInput, serializers.Serializer):
    """Why the buyer returns the item and, for Cash on Delivery, where the money goes back."""

    reason = serializers.ChoiceField(choices=ReturnReason.choices)
    comment = serializers.CharField(required=False, allow_blank=True, default="", max_length=MAX_COMMENT_LENGTH)
    refund_to = RefundAccountField(
        required=False,
        help_text="Cash on Delivery only, and then required: where the money goes back. Stored encrypted, "
        "shown masked.",
    )


class EscalateInputSerializer(StrictJSONInput, serializers.Serializer):
    """The buyer's word to JoyCart's staff, on the timeline."""

    comment = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=MAX_REASON_LENGTH,
        help_text="Why JoyCart should look again.",
    )


class RefundAccountInputSerializer(StrictJSONInput, serializers.Serializer):
    """Another account for a payout the bank refused."""

    refund_to = RefundAccountField(help_text="The new account for the failed payout.")


class ReturnRejectInputSerializer(CancelInputSerializer):
    """The reason the buyer will see; missing or blank is `reason_required`, as for a cancellation."""


class ReturnReceiveInputSerializer(StrictJSONInput, serializers.Serializer):
    """Whether the returned item can be sold again: a JSON boolean, required."""

    resellable = serializers.BooleanField(
        help_text="true puts the units back on the variant's stock; false keeps them off sale."
    )


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


class PayoutSummarySerializer(serializers.Serializer):
    """A Cash on Delivery return's money: staff pay it from the bank. FAILED asks the buyer for another
    account (`POST /api/v1/orders/{id}/items/{item_id}/return/refund-account/`)."""

    status = serializers.ChoiceField(choices=PayoutStatus.choices)
    amount = serializers.DecimalField(**MONEY)
    failure_reason = serializers.CharField(help_text="Why the bank refused the account; blank unless FAILED.")
    paid_at = serializers.DateTimeField(allow_null=True)


class ItemReturnSerializer(serializers.Serializer):
    """The item's return request and what became of it. The account is only ever shown masked."""

    reason = serializers.ChoiceField(choices=ReturnReason.choices)
    comment = serializers.CharField()
    requested_at = serializers.DateTimeField()
    rejection_reason = serializers.CharField(help_text="Blank unless rejected.")
    escalated = serializers.SerializerMethodField(help_text="The buyer asked JoyCart to look again (once).")
    resellable = serializers.BooleanField(allow_null=True, help_text="Null until the seller receives it back.")
    refund_to = serializers.SerializerMethodField(help_text='Masked, like "UPI ••••@okaxis"; null when paid online.')
    payout = serializers.SerializerMethodField()

    def get_escalated(self, request) -> bool:
        return request.escalated_at is not None

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_refund_to(self, request) -> str | None:
        """The payout's account once there is one: the buyer may have replaced the account they asked with."""
        payout = _related_or_none(request.item, "payout")
        return (payout.refund_to_masked if payout is not None else request.refund_to_masked) or None

    @extend_schema_field(PayoutSummarySerializer(allow_null=True))
    def get_payout(self, request) -> dict | None:
        """Cash on Delivery, once the item is received."""
        payout = _related_or_none(request.item, "payout")
        return PayoutSummarySerializer(payout).data if payout is not None else None


def _related_or_none(item, name: str):
    """A reverse one-to-one (`return_request`, `payout`): the selectors join them, so no query here."""
    try:
        return getattr(item, name)
    except ObjectDoesNotExist:
        return None


# The return fields both the buyer and the seller see on an item (a comment, not a docstring: the
# schema would describe every item serializer with it). `return` is a Python keyword, so that field
# is added by name rather than declared.
class ItemReturnFields(serializers.Serializer):
    return_window_ends_at = serializers.SerializerMethodField(
        help_text="The last moment the buyer may ask for a return; null before delivery or when not returnable."
    )
    can_return = serializers.SerializerMethodField(help_text="The buyer may ask to return it now.")

    def get_fields(self):
        fields = super().get_fields()
        for name in ("return_window_ends_at", "can_return"):  # after the item's own fields, not before
            fields[name] = fields.pop(name)
        fields["return"] = serializers.SerializerMethodField(help_text="Null unless a return was asked for.")
        return fields

    @extend_schema_field(serializers.DateTimeField(allow_null=True))
    def get_return_window_ends_at(self, item) -> str | None:
        deadline = return_deadline(item)
        return serializers.DateTimeField().to_representation(deadline) if deadline is not None else None

    def get_can_return(self, item) -> bool:
        return (
            OrderItemStatus.RETURN_REQUESTED in allowed_targets(from_status=item.status, role=ActorRole.BUYER)
            and return_window_refusal(item) is None
        )

    @extend_schema_field(ItemReturnSerializer(allow_null=True))
    def get_return(self, item) -> dict | None:
        request = _related_or_none(item, "return_request")
        return ItemReturnSerializer(request).data if request is not None else None


class OrderItemSerializer(ItemReturnFields, serializers.Serializer):
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
    can_withdraw_return = serializers.SerializerMethodField(help_text="The buyer may take the return request back.")
    can_escalate_return = serializers.SerializerMethodField(
        help_text="The return was rejected and the buyer may ask JoyCart to look again (once)."
    )
    refund = serializers.SerializerMethodField()

    def _buyer_may(self, item, to_status: str) -> bool:
        return to_status in allowed_targets(from_status=item.status, role=ActorRole.BUYER)

    def get_can_cancel(self, item) -> bool:
        return self._buyer_may(item, OrderItemStatus.CANCELLED)

    def get_can_withdraw_return(self, item) -> bool:
        # The buyer's one move back to DELIVERED is taking a return request back.
        return self._buyer_may(item, OrderItemStatus.DELIVERED)

    def get_can_escalate_return(self, item) -> bool:
        request = _related_or_none(item, "return_request")
        return (
            self._buyer_may(item, OrderItemStatus.RETURN_ESCALATED)
            and request is not None
            and request.escalated_at is None
        )

    @extend_schema_field(ItemRefundSerializer(allow_null=True))
    def get_refund(self, item) -> dict | None:
        """Null unless the item's money went back online: cancelled, or returned, after a captured payment."""
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


class SellerOrderItemSerializer(ItemReturnFields, serializers.Serializer):
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
        """The buyer's online refund for this item, if it was cancelled or returned after an online payment."""
        return item_refund(item)
