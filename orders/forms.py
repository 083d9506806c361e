"""Forms of the checkout and order pages. They check the shape of the input; the services decide."""

from django import forms

from cart.models import MAX_QUANTITY, MIN_QUANTITY
from joycart.ids import MAX_ID
from orders.errors import InvalidAddress, InvalidRefundAccount, InvalidReturnReason, ReasonRequired, ResellableRequired
from orders.models import OrderItemStatus, PaymentMethod, RefundTo, ReturnReason
from orders.services.checkout import ENABLED_PAYMENT_METHODS, MAX_IDEMPOTENCY_KEY_LENGTH, SOURCES
from orders.services.lifecycle import MAX_REASON_LENGTH, MAX_SHIPMENT_FIELD_LENGTH
from orders.services.returns import MAX_ACCOUNT_NAME_LENGTH, MAX_COMMENT_LENGTH, refund_account_clean


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


# --- Returns ------------------------------------------------------------------------------

BANK_FIELDS = ("account_name", "account_number", "ifsc")
ACCOUNT_FIELD_BLANK = {
    "upi_id": "Enter your UPI id, like name@okaxis.",
    "account_name": "Enter the name on the account.",
    "account_number": "Enter the account number.",
    "ifsc": "Enter the branch's IFSC, like HDFC0001234.",
}


class RefundAccountForm(forms.Form):
    """Where a Cash on Delivery item's money goes back: a UPI id, or a bank account.

    Both groups of fields are on the page (it works without JavaScript); only the chosen one is read.
    Whether the account is well formed is `refund_account_clean`'s to say, the same rule as the API's.
    """

    refund_to = forms.ChoiceField(
        label="Refund to", choices=RefundTo.choices, widget=forms.RadioSelect, initial=RefundTo.UPI
    )
    upi_id = forms.CharField(
        label="UPI id",
        required=False,
        widget=forms.TextInput(attrs={"placeholder": "name@okaxis", "autocomplete": "off", "spellcheck": "false"}),
    )
    account_name = forms.CharField(label="Name on the account", required=False, max_length=MAX_ACCOUNT_NAME_LENGTH)
    account_number = forms.CharField(
        label="Account number",
        required=False,
        max_length=40,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )
    ifsc = forms.CharField(
        label="IFSC",
        required=False,
        max_length=20,
        widget=forms.TextInput(attrs={"placeholder": "HDFC0001234", "autocomplete": "off", "spellcheck": "false"}),
    )

    def clean(self):
        data = super().clean()
        kind = data.get("refund_to")
        if kind is None:
            return data
        names = ("upi_id",) if kind == RefundTo.UPI else BANK_FIELDS
        account = {name: data.get(name, "") for name in names}
        blank = [name for name in names if not account[name]]
        for name in blank:
            self.add_error(name, ACCOUNT_FIELD_BLANK[name])
        if blank:
            return data
        try:
            refund_account_clean(account)
        except InvalidRefundAccount as exc:
            # A UPI id is one field; a bank account's fields are judged together.
            self.add_error("upi_id" if kind == RefundTo.UPI else None, exc.message)
        else:
            self.refund_account = account
        return data


class ReturnForm(RefundAccountForm):
    """The buyer's return request. The refund account is asked for Cash on Delivery orders only:
    an online payment is refunded to where it came from."""

    reason = forms.ChoiceField(
        label="Why are you returning it?",
        choices=[("", "Choose a reason"), *ReturnReason.choices],
        error_messages={"required": InvalidReturnReason.message, "invalid_choice": InvalidReturnReason.message},
    )
    comment = forms.CharField(
        label="Anything the seller should know",
        required=False,
        max_length=MAX_COMMENT_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": "For example: the zip is broken"}),
    )

    field_order = ["reason", "comment", "refund_to", "upi_id", *BANK_FIELDS]

    def __init__(self, *args, needs_account: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.needs_account = needs_account
        if not needs_account:
            for name in ("refund_to", "upi_id", *BANK_FIELDS):
                del self.fields[name]

    def clean(self):
        if not self.needs_account:
            return self.cleaned_data
        return super().clean()

    def request_kwargs(self) -> dict:
        """The keyword arguments of `order_item_return_request`, less the item and the buyer."""
        data = self.cleaned_data
        return {
            "reason": data["reason"],
            "comment": data["comment"],
            "refund_to": getattr(self, "refund_account", None),
        }


class EscalateForm(forms.Form):
    comment = forms.CharField(
        label="Why should JoyCart look again?",
        required=False,
        max_length=MAX_REASON_LENGTH,
        widget=forms.TextInput(attrs={"placeholder": "For example: the photos show the damage"}),
    )


class ReturnRejectForm(forms.Form):
    reason = forms.CharField(
        label="Reason the buyer will see",
        max_length=MAX_REASON_LENGTH,
        error_messages={"required": "Say why you refuse the return.", "max_length": ReasonRequired.message},
        widget=forms.TextInput(attrs={"placeholder": "For example: the tag has been removed"}),
    )


class ReturnReceiveForm(forms.Form):
    resellable = forms.TypedChoiceField(
        label="Can it be sold again?",
        choices=[("yes", "Yes, put it back in stock"), ("no", "No, it is damaged or used")],
        coerce=lambda value: value == "yes",
        widget=forms.RadioSelect,
        error_messages={"required": ResellableRequired.message, "invalid_choice": ResellableRequired.message},
    )


# The seller portal's Returns tabs (`?status=`), each a group of return statuses, in the order a return goes.
SELLER_RETURN_TABS = {
    "requested": ("To answer", (OrderItemStatus.RETURN_REQUESTED,)),
    "approved": ("To receive", (OrderItemStatus.RETURN_APPROVED,)),
    "rejected": ("Refused", (OrderItemStatus.RETURN_REJECTED, OrderItemStatus.RETURN_ESCALATED)),
    "received": ("Received", (OrderItemStatus.RETURN_RECEIVED, OrderItemStatus.RETURNED)),
}


class SellerReturnFilterForm(forms.Form):
    status = forms.ChoiceField(required=False, choices=[("", "All"), *((key, key) for key in SELLER_RETURN_TABS)])
