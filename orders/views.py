"""Checkout and the buyer's order pages. They check who asks and call the same services as the API.

Placing an order and cancelling an item are POSTs that redirect with a flash message, so
a reload never repeats them; the checkout form also carries an idempotency key, so a
double click or a resubmitted page places one order.
"""

import uuid
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from accounts.selectors import user_addresses
from cart.errors import InvalidQuantity
from cart.services import quantity_clean
from cart.views import posted_variant_id
from joycart.errors import DomainError
from joycart.ids import parse_id
from joycart.money import format_inr
from joycart.redirects import safe_next_url
from orders import selectors
from orders.errors import IdempotencyKeyReused
from orders.forms import CancelForm, CheckoutForm, EscalateForm, RefundAccountForm, ReturnForm
from orders.models import ActorRole, Order, OrderEvent, OrderItem, OrderItemStatus, PaymentMethod, ReturnRequest
from orders.services.checkout import ENABLED_PAYMENT_METHODS, SOURCE_BUY_NOW, SOURCE_CART, checkout_place
from orders.services.lifecycle import order_item_cancel
from orders.services.returns import (
    order_item_return_escalate,
    order_item_return_request,
    order_item_return_withdraw,
    return_deadline,
    return_window_refusal,
)
from orders.transitions import allowed_targets
from payments.models import Payout, PayoutStatus
from payments.selectors import online_payment_state
from payments.services.returns import payout_account_replace
from reviews.selectors import item_invites_review

ORDERS_PER_PAGE = 10
# `?address=newest` on the checkout page picks the address just added from it.
NEWEST_ADDRESS = "newest"
STATUS_LABELS = dict(OrderItemStatus.choices)


# --- Checkout ---------------------------------------------------------------------------


@require_POST
def buy_now(request):
    """The product page's "Buy now" button: on to the checkout page for this variant alone.

    It posts (with the add-to-cart form's quantity and chosen variant) rather than linking, and
    changes nothing: anyone logged out goes through the login page and comes back to checkout.
    """
    try:
        variant_id = posted_variant_id(request)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect(safe_next_url(request) or request.headers.get("Referer") or reverse("home"))
    query = {"source": SOURCE_BUY_NOW, "variant": variant_id, "quantity": "1"}
    # The form's own bounds leave a bad quantity to forged posts: those buy one.
    with suppress(InvalidQuantity):
        query["quantity"] = str(quantity_clean(request.POST.get("quantity", "")))
    return redirect(f"{reverse('orders:checkout')}?{urlencode(query)}")


def _target(data) -> tuple[str, int | None, str | None]:
    """What the page is checking out: (source, variant id, raw quantity)."""
    source = data.get("source") or SOURCE_CART
    if source == SOURCE_CART:
        return source, None, None
    return source, parse_id(data.get("variant")), data.get("quantity")


def _preselected_address(request, addresses: list) -> int | None:
    wanted = request.GET.get("address", "")
    if wanted == NEWEST_ADDRESS and addresses:
        return max(addresses, key=lambda address: (address.created_at, address.pk)).pk
    ids = [address.pk for address in addresses]
    if parse_id(wanted) in ids:
        return parse_id(wanted)
    return ids[0] if ids else None  # the default comes first


def _add_address_url(preview: selectors.CheckoutPreview) -> str:
    """The address form, coming back here with the new address chosen."""
    query = {"source": preview.source}
    if preview.source == SOURCE_BUY_NOW:
        query.update(variant=preview.variant_id or "", quantity=preview.quantity or "")
    query["address"] = NEWEST_ADDRESS
    back = f"{reverse('orders:checkout')}?{urlencode(query)}"
    return f"{reverse('accounts:address_new')}?{urlencode({'next': back})}"


@login_required
@never_cache
def checkout(request):
    addresses = list(user_addresses(user=request.user))
    if request.method == "POST":
        form = CheckoutForm(request.POST, addresses=addresses)
        if form.is_valid():
            try:
                order, _created = checkout_place(buyer=request.user, **form.place_kwargs())
            except IdempotencyKeyReused:
                # The page was submitted before with other choices (Back, then changed): its
                # order stands. A fresh key lets the buyer place another one on purpose.
                form = CheckoutForm({**request.POST.dict(), "idempotency_key": uuid.uuid4().hex}, addresses=addresses)
                form.is_valid()
                form.add_error(
                    None,
                    "This page already placed an order; see Your orders. "
                    "To place another order as well, check the details and place it again.",
                )
            except DomainError as exc:
                form.add_error(None, exc.message)
            else:
                # A replay of the same page answers the same way: the buyer sees one order.
                messages.success(request, _placed_message(order))
                if order.payment_method == PaymentMethod.ONLINE:
                    return redirect("payments:pay", number=order.number)
                return redirect("orders:detail", number=order.number)
        source, variant_id, quantity = _target(request.POST)
    else:
        source, variant_id, quantity = _target(request.GET)
    preview = selectors.checkout_preview(buyer=request.user, source=source, variant_id=variant_id, quantity=quantity)
    if request.method != "POST":
        form = CheckoutForm(
            addresses=addresses,
            initial={
                "source": preview.source,
                "variant": preview.variant_id,
                "quantity": preview.quantity,
                "address": _preselected_address(request, addresses),
                "payment_method": PaymentMethod.COD,
                "idempotency_key": uuid.uuid4().hex,
            },
        )
    context = {
        "form": form,
        "form_errors": [*form.non_field_errors(), *(error for field in form.hidden_fields() for error in field.errors)],
        "preview": preview,
        "addresses": addresses,
        "selected_address": str(form["address"].value() or ""),
        "add_address_url": _add_address_url(preview),
        "unavailable_methods": [
            label for method, label in PaymentMethod.choices if method not in ENABLED_PAYMENT_METHODS
        ],
        "can_place": preview.can_place and bool(addresses),
        "payment_timeout_minutes": settings.ORDER_PAYMENT_TIMEOUT_MINUTES,
    }
    return render(request, "orders/checkout.html", context)


def _placed_message(order: Order) -> str:
    if order.payment_method == PaymentMethod.COD:
        return f"Thank you! Order {order.number} is placed. Pay {format_inr(order.total)} in cash on delivery."
    return (
        f"Order {order.number} is reserved for you. Pay {format_inr(order.total)} now to place it; "
        f"unpaid, it is cancelled after {settings.ORDER_PAYMENT_TIMEOUT_MINUTES} minutes."
    )


# --- The buyer's orders -----------------------------------------------------------------


@login_required
def order_list(request):
    page = Paginator(selectors.buyer_orders(buyer=request.user), ORDERS_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "orders/order_list.html", {"page": page, "orders": page.object_list})


@dataclass(frozen=True)
class TimelineEntry:
    event: OrderEvent
    item: OrderItem | None
    actor: str
    from_label: str
    to_label: str


def _timeline(*, order: Order, viewer) -> list[TimelineEntry]:
    """The events the viewer may see, told from the buyer's side: "You", the store, or JoyCart."""
    items = {item.pk: item for item in order.items.all()}  # prefetched with their sellers
    entries = []
    for event in selectors.order_events_visible(order=order, viewer=viewer):
        item = items.get(event.item_id)
        if event.actor_role == ActorRole.BUYER:
            actor = "You"
        elif event.actor_role == ActorRole.SELLER and item is not None:
            actor = item.seller.name
        else:
            actor = "JoyCart"
        entries.append(
            TimelineEntry(
                event=event,
                item=item,
                actor=actor,
                from_label=STATUS_LABELS.get(event.from_status, event.from_status),
                to_label=STATUS_LABELS.get(event.to_status, event.to_status),
            )
        )
    return entries


@dataclass(frozen=True)
class ItemRow:
    """One item on the buyer's order page, with the forms its status offers the buyer now."""

    item: OrderItem
    cancel_form: CancelForm | None
    invites_review: bool
    return_request: ReturnRequest | None
    payout: Payout | None
    return_form: ReturnForm | None
    return_deadline: datetime | None
    can_withdraw: bool
    escalate_form: EscalateForm | None
    account_form: RefundAccountForm | None


def _form(kind: str, item: OrderItem, bound: dict, factory):
    """The bound form of this kind for this item if it was just posted with errors, else a fresh one."""
    return bound.get((kind, item.pk)) or factory(auto_id=f"{kind}-{item.pk}-%s")


def _item_row(item: OrderItem, *, cod: bool, bound: dict) -> ItemRow:
    moves = allowed_targets(from_status=item.status, role=ActorRole.BUYER)
    return_request = getattr(item, "return_request", None)  # selected with the item; None without one
    payout = getattr(item, "payout", None)
    may_return = OrderItemStatus.RETURN_REQUESTED in moves and return_window_refusal(item) is None
    may_escalate = (
        OrderItemStatus.RETURN_ESCALATED in moves and return_request is not None and return_request.escalated_at is None
    )
    return ItemRow(
        item=item,
        cancel_form=_form("cancel", item, bound, CancelForm) if OrderItemStatus.CANCELLED in moves else None,
        invites_review=item_invites_review(item),
        return_request=return_request,
        payout=payout,
        return_form=_form("return", item, bound, partial(ReturnForm, needs_account=cod)) if may_return else None,
        return_deadline=return_deadline(item),
        can_withdraw=OrderItemStatus.DELIVERED in moves,
        escalate_form=_form("escalate", item, bound, EscalateForm) if may_escalate else None,
        account_form=(
            _form("account", item, bound, RefundAccountForm)
            if payout is not None and payout.status == PayoutStatus.FAILED
            else None
        ),
    )


def _render_order(request, order: Order, rows: list[ItemRow]):
    context = {
        "order": order,
        "rows": rows,
        "timeline": _timeline(order=order, viewer=request.user),
        "online": online_payment_state(order=order),
    }
    return render(request, "orders/order_detail.html", context)


def _rows(order: Order, *, bound: dict | None = None) -> list[ItemRow]:
    """`bound` maps (form kind, item id) to a form just posted with errors."""
    cod = order.payment_method == PaymentMethod.COD
    return [_item_row(item, cod=cod, bound=bound or {}) for item in order.items.all()]


@login_required
def order_detail(request, number: str):
    order = selectors.buyer_order_get(buyer=request.user, number=number)
    return _render_order(request, order, _rows(order))


def _form_errors_page(request, number: str, kind: str, item: OrderItem, form):
    """The order page again, the form with its errors beside its fields, nothing changed.

    If the item no longer offers that form (it moved on meanwhile, or the post was forged), its errors
    become flash messages on the page instead.
    """
    order = selectors.buyer_order_get(buyer=request.user, number=number)
    rows = _rows(order, bound={(kind, item.pk): form})
    shown = any(form in (row.cancel_form, row.return_form, row.escalate_form, row.account_form) for row in rows)
    if not shown:
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect("orders:detail", number=number)
    return _render_order(request, order, rows)


@login_required
@require_POST
def order_item_cancel_view(request, number: str, item_id: int):
    item = selectors.buyer_order_item_get(buyer=request.user, number=number, item_id=item_id)
    form = CancelForm(request.POST, auto_id=f"cancel-{item.pk}-%s")
    if not form.is_valid():
        return _form_errors_page(request, number, "cancel", item, form)
    try:
        item = order_item_cancel(
            item_id=item.pk, actor=request.user, role=ActorRole.BUYER, reason=form.cleaned_data["reason"]
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        note = " You will not pay for it." if item.order.payment_method == PaymentMethod.COD else ""
        if item.refunds.exists():
            note = f" Your refund of {format_inr(item.line_total)} is on its way."
        messages.success(request, f"Cancelled “{item.title}”.{note}")
    return redirect("orders:detail", number=number)


# --- Returns ----------------------------------------------------------------------------


def _item_form_post(request, number: str, item, form, kind: str, act) -> HttpResponse:
    """A buyer's form about one item: `act()` runs the service once the form is valid and returns what to tell
    the buyer; the service's refusal becomes the form's error, shown on the order page beside the item."""
    if form.is_valid():
        try:
            message = act()
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, message)
            return redirect("orders:detail", number=number)
    return _form_errors_page(request, number, kind, item, form)


@login_required
@require_POST
def order_item_return_view(request, number: str, item_id: int):
    item = selectors.buyer_order_item_get(buyer=request.user, number=number, item_id=item_id)
    cod = item.order.payment_method == PaymentMethod.COD
    form = ReturnForm(request.POST, auto_id=f"return-{item.pk}-%s", needs_account=cod)

    def request_return() -> str:
        order_item_return_request(item_id=item.pk, buyer=request.user, **form.request_kwargs())
        return f"Return requested for “{item.title}”. {item.seller.name} will answer soon."

    return _item_form_post(request, number, item, form, "return", request_return)


@login_required
@require_POST
def order_item_return_withdraw_view(request, number: str, item_id: int):
    item = selectors.buyer_order_item_get(buyer=request.user, number=number, item_id=item_id)
    try:
        order_item_return_withdraw(item_id=item.pk, buyer=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"You withdrew the return of “{item.title}”. It is yours to keep.")
    return redirect("orders:detail", number=number)


@login_required
@require_POST
def order_item_return_escalate_view(request, number: str, item_id: int):
    item = selectors.buyer_order_item_get(buyer=request.user, number=number, item_id=item_id)
    form = EscalateForm(request.POST, auto_id=f"escalate-{item.pk}-%s")

    def escalate() -> str:
        order_item_return_escalate(item_id=item.pk, buyer=request.user, comment=form.cleaned_data["comment"])
        return f"JoyCart support will review the return of “{item.title}”."

    return _item_form_post(request, number, item, form, "escalate", escalate)


@login_required
@require_POST
def order_item_refund_account_view(request, number: str, item_id: int):
    """A failed Cash on Delivery payout: the buyer names another account, and staff pay it again."""
    item = selectors.buyer_order_item_get(buyer=request.user, number=number, item_id=item_id)
    form = RefundAccountForm(request.POST, auto_id=f"account-{item.pk}-%s")

    def replace_account() -> str:
        payout = payout_account_replace(item_id=item.pk, buyer=request.user, refund_to=form.refund_account)
        return f"Thank you. Your refund will be paid to {payout.refund_to_masked}."

    return _item_form_post(request, number, item, form, "account", replace_account)
