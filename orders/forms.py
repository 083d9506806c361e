"""Forms of the checkout and order pages. They check the shape of the input; the services decide."""

from django import forms

from cart.models import MAX_QUANTITY, MIN_QUANTITY
from joycart.ids import MAX_ID
from orders.errors import InvalidAddress, ReasonRequired
from orders.models import OrderItemStatus, PaymentMethod
from orders.services.checkout import ENABLED_PAYMENT_METHODS, MAX_IDEMPOTENCY_KEY_LENGTH, SOURCES
from orders.services.lifecycle import MAX_REASON_LENGTH, MAX_SHIPMENT_FIELD_LENGTH


class CheckoutForm(forms.Form):
    """The place-order form. What is bought (source, variant, quantity) rides along in hidden
    fields, so the order placed is the one the summary showed; prices never do.

    `idempotency_key` is a new random key per rendered page: submitting the same page twice
    (a double click, a resubmit after a timeout) returns the order the first submit placed.
    """

    source = forms.ChoiceField(choices=[(source, source) for source in SOURCES], widget=forms.HiddenInput)
    variant = forms.IntegerField(required=False, min_value=1, max_value=MAX_ID, widget=forms.HiddenInput)
    quantity = forms.IntegerField(
        required=False, min_value=MIN_QUANTITY, max_value=MAX_QUANTITY, widget=forms.HiddenInput
    )
    address = forms.TypedChoiceField(
        label="Deliver to",
        coerce=int,
        widget=forms.RadioSelect,
        error_messages={"required": InvalidAddress.message, "invalid_choice": InvalidAddress.message},
    )
    payment_method = forms.ChoiceField(
        label="Payment method",
        choices=[(method, label) for method, label in PaymentMethod.choices if method in ENABLED_PAYMENT_METHODS],
        widget=forms.RadioSelect,
        initial=PaymentMethod.COD,
    )
    idempotency_key = forms.CharField(max_length=MAX_IDEMPOTENCY_KEY_LENGTH, widget=forms.HiddenInput)

    def __init__(self, *args, addresses, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["address"].choices = [(address.pk, str(address)) for address in addresses]

    def place_kwargs(self) -> dict:
        """The keyword arguments of `checkout_place`, less the buyer."""
        data = self.cleaned_data
        return {
            "source": data["source"],
            "variant_id": data["variant"],
            "quantity": data["quantity"],
            "address_id": data["address"],
            "payment_method": data["payment_method"],
            "idempotency_key": data["idempotency_key"],
        }


class CancelForm(forms.Form):
    reason = forms.CharField(
        label="Reason for cancelling",
        max_length=MAX_REASON_LENGTH,
        error_messages={"required": ReasonRequired.message, "max_length": ReasonRequired.message},
        widget=forms.TextInput(attrs={"placeholder": "For example: ordered by mistake"}),
    )


class ShipForm(forms.Form):
    carrier = forms.CharField(label="Carrier", required=False, max_length=MAX_SHIPMENT_FIELD_LENGTH)
    tracking_number = forms.CharField(label="Tracking number", required=False, max_length=MAX_SHIPMENT_FIELD_LENGTH)


# The seller portal's status tabs, in lifecycle order. Items awaiting online payment are not
# the seller's to act on yet, so they get no tab; `?status=` still accepts any status.
SELLER_STATUS_TABS = [
    OrderItemStatus.PLACED,
    OrderItemStatus.CONFIRMED,
    OrderItemStatus.SHIPPED,
    OrderItemStatus.DELIVERED,
    OrderItemStatus.CANCELLED,
]


class SellerOrderFilterForm(forms.Form):
    status = forms.ChoiceField(required=False, choices=[("", "All"), *OrderItemStatus.choices])
