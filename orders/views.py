"""Checkout and the buyer's order pages. They check who asks and call the same services as the API.

Placing an order and cancelling an item are POSTs that redirect with a flash message, so
a reload never repeats them; the checkout form also carries an idempotency key, so a
double click or a resubmitted page places one order.
"""

import uuid
from contextlib import suppress
from dataclasses import dataclass
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
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
from orders.forms import CancelForm, CheckoutForm
from orders.models import ActorRole, Order, OrderEvent, OrderItem, OrderItemStatus, PaymentMethod
from orders.services.checkout import ENABLED_PAYMENT_METHODS, SOURCE_BUY_NOW, SOURCE_CART, checkout_place
from orders.services.lifecycle import order_item_cancel
from orders.transitions import allowed_targets
from payments.selectors import online_payment_state
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
    item: OrderItem
    cancel_form: CancelForm | None
    invites_review: bool


def _render_order(request, order: Order, *, bound_cancel: tuple[int, CancelForm] | None = None):
    rows = []
    for item in order.items.all():
        form = None
        if OrderItemStatus.CANCELLED in allowed_targets(from_status=item.status, role=ActorRole.BUYER):
            if bound_cancel is not None and bound_cancel[0] == item.pk:
                form = bound_cancel[1]
            else:
                form = CancelForm(auto_id=f"cancel-{item.pk}-%s")
        rows.append(ItemRow(item=item, cancel_form=form, invites_review=item_invites_review(item)))
    context = {
        "order": order,
        "rows": rows,
        "timeline": _timeline(order=order, viewer=request.user),
        "online": online_payment_state(order=order),
    }
    return render(request, "orders/order_detail.html", context)


@login_required
def order_detail(request, number: str):
    return _render_order(request, selectors.buyer_order_get(buyer=request.user, number=number))


@login_required
@require_POST
def order_item_cancel_view(request, number: str, item_id: int):
    item = selectors.buyer_order_item_get(buyer=request.user, number=number, item_id=item_id)
    form = CancelForm(request.POST, auto_id=f"cancel-{item.pk}-%s")
    if not form.is_valid():
        # The reason goes beside its field, on the order page.
        order = selectors.buyer_order_get(buyer=request.user, number=number)
        return _render_order(request, order, bound_cancel=(item.pk, form))
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
