"""The seller portal's order pages: the items ordered from this store, and moving them along.

Every POST calls the lifecycle service as the SELLER and comes back to the list it was
sent from with a flash message. Another seller's item answers 404 before anything else.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from accounts.decorators import seller_required
from joycart.errors import DomainError
from joycart.redirects import safe_next_url
from orders import selectors
from orders.forms import (
    SELLER_RETURN_TABS,
    SELLER_STATUS_TABS,
    CancelForm,
    ReturnReceiveForm,
    ReturnRejectForm,
    SellerOrderFilterForm,
    SellerReturnFilterForm,
    ShipForm,
)
from orders.models import RETURN_STATUSES, ActorRole, OrderItem, OrderItemStatus
from orders.services.lifecycle import order_item_cancel, order_item_confirm, order_item_deliver, order_item_ship
from orders.services.returns import order_item_return_approve, order_item_return_receive, order_item_return_reject
from orders.transitions import allowed_targets

ITEMS_PER_PAGE = 20


@dataclass(frozen=True)
class StatusTab:
    value: str
    label: str
    count: int


@dataclass(frozen=True)
class SellerItemRow:
    item: OrderItem
    actions: list[str]  # the statuses the seller may move the item to now

    @property
    def cancel_reason(self) -> str:
        """Why a cancelled item was cancelled (its events are prefetched)."""
        reasons = [event.reason for event in self.item.events.all() if event.to_status == OrderItemStatus.CANCELLED]
        return reasons[-1] if reasons else ""


@seller_required
def order_list(request):
    store = request.user.active_store
    filters = SellerOrderFilterForm(request.GET)
    status = filters.cleaned_data["status"] if filters.is_valid() else ""
    page = Paginator(selectors.seller_order_items(store=store, status=status or None), ITEMS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    # A return is answered on the Returns tab, which the row links to.
    rows = [
        SellerItemRow(
            item=item,
            actions=[
                target
                for target in allowed_targets(from_status=item.status, role=ActorRole.SELLER)
                if target not in RETURN_STATUSES
            ],
        )
        for item in page.object_list
    ]
    counts = selectors.seller_order_item_counts(store=store)
    tabs = [StatusTab(value="", label="All", count=sum(counts.values()))] + [
        StatusTab(value=value, label=OrderItemStatus(value).label, count=counts.get(value, 0))
        for value in SELLER_STATUS_TABS
    ]
    context = {
        "page": page,
        "rows": rows,
        "tabs": tabs,
        "status": status,
        "status_label": OrderItemStatus(status).label if status else "",
        "query": urlencode({"status": status}) if status else "",
        "Status": OrderItemStatus,
        "return_statuses": RETURN_STATUSES,
    }
    return render(request, "seller/order_list.html", context)


def _back(request) -> str:
    """The list the form was on (its filter and page), else the whole list."""
    return safe_next_url(request) or reverse("seller:orders")


def _first_error(form) -> str:
    return next(iter(form.errors.values()))[0]


DONE = {
    "confirm": "confirmed: ship it when it is packed",
    "ship": "marked shipped",
    "deliver": "marked delivered",
    "cancel": "cancelled: its stock is back on sale",
}


@seller_required
@require_POST
def order_item_action(request, item_id: int, action: str):
    item = selectors.seller_order_item_get(store=request.user.active_store, item_id=item_id)
    label = f"{item.order.number}: “{item.title}”"
    try:
        if action == "confirm":
            order_item_confirm(item_id=item.pk, actor=request.user, role=ActorRole.SELLER)
        elif action == "ship":
            form = ShipForm(request.POST)
            if not form.is_valid():
                messages.error(request, f"{label} was not shipped. {_first_error(form)}")
                return redirect(_back(request))
            order_item_ship(item_id=item.pk, actor=request.user, role=ActorRole.SELLER, **form.cleaned_data)
        elif action == "deliver":
            order_item_deliver(item_id=item.pk, actor=request.user, role=ActorRole.SELLER)
        else:
            form = CancelForm(request.POST)
            if not form.is_valid():
                messages.error(request, f"{label} was not cancelled. {_first_error(form)}")
                return redirect(_back(request))
            order_item_cancel(
                item_id=item.pk, actor=request.user, role=ActorRole.SELLER, reason=form.cleaned_data["reason"]
            )
    except DomainError as exc:
        messages.error(request, f"{label}: {exc.message}")
    else:
        messages.success(request, f"{label} {DONE[action]}.")
    return redirect(_back(request))


# --- Returns ----------------------------------------------------------------------------


@dataclass(frozen=True)
class SellerReturnRow:
    item: OrderItem
    actions: list[str]  # the return statuses the seller may move the item to now
    answer_by: datetime | None  # when an unanswered request is approved without the seller

    @property
    def return_request(self):
        return getattr(self.item, "return_request", None)

    @property
    def payout(self):
        return getattr(self.item, "payout", None)


def _returns_tab_url(status: str) -> str:
    """The Returns tab an item in `status` is listed on."""
    tab = next((key for key, (_label, statuses) in SELLER_RETURN_TABS.items() if status in statuses), "")
    return f"{reverse('seller:returns')}?{urlencode({'status': tab})}" if tab else reverse("seller:returns")


@seller_required
def return_list(request):
    store = request.user.active_store
    filters = SellerReturnFilterForm(request.GET)
    tab = filters.cleaned_data["status"] if filters.is_valid() else ""
    statuses = SELLER_RETURN_TABS[tab][1] if tab else tuple(RETURN_STATUSES)
    page = Paginator(selectors.seller_return_items(store=store, statuses=statuses), ITEMS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    sla = timedelta(days=settings.RETURN_SELLER_SLA_DAYS)
    rows = []
    for item in page.object_list:
        return_request = getattr(item, "return_request", None)
        waiting = item.status == OrderItemStatus.RETURN_REQUESTED and return_request is not None
        rows.append(
            SellerReturnRow(
                item=item,
                actions=allowed_targets(from_status=item.status, role=ActorRole.SELLER),
                answer_by=return_request.requested_at + sla if waiting else None,
            )
        )
    counts = selectors.seller_order_item_counts(store=store)
    tabs = [StatusTab(value="", label="All returns", count=sum(counts.get(status, 0) for status in RETURN_STATUSES))]
    tabs += [
        StatusTab(value=key, label=label, count=sum(counts.get(status, 0) for status in statuses))
        for key, (label, statuses) in SELLER_RETURN_TABS.items()
    ]
    context = {
        "page": page,
        "rows": rows,
        "tabs": tabs,
        "status": tab,
        "status_label": SELLER_RETURN_TABS[tab][0] if tab else "",
        "query": urlencode({"status": tab}) if tab else "",
        "Status": OrderItemStatus,
        "sla_days": settings.RETURN_SELLER_SLA_DAYS,
    }
    return render(request, "seller/return_list.html", context)


RETURN_DONE = {
    "approve": "return approved: the buyer will send it back",
    "reject": "return refused: the buyer is told why",
    "receive": "received back: the buyer's refund starts now",
}


@seller_required
@require_POST
def return_action(request, item_id: int, action: str):
    item = selectors.seller_order_item_get(store=request.user.active_store, item_id=item_id)
    label = f"{item.order.number}: “{item.title}”"
    back = safe_next_url(request) or _returns_tab_url(item.status)
    try:
        if action == "approve":
            order_item_return_approve(item_id=item.pk, actor=request.user, role=ActorRole.SELLER)
        elif action == "reject":
            form = ReturnRejectForm(request.POST)
            if not form.is_valid():
                messages.error(request, f"{label}: the return was not refused. {_first_error(form)}")
                return redirect(back)
            order_item_return_reject(
                item_id=item.pk, actor=request.user, role=ActorRole.SELLER, reason=form.cleaned_data["reason"]
            )
        else:
            form = ReturnReceiveForm(request.POST)
            if not form.is_valid():
                messages.error(request, f"{label} was not marked received. {_first_error(form)}")
                return redirect(back)
            order_item_return_receive(
                item_id=item.pk, actor=request.user, role=ActorRole.SELLER, resellable=form.cleaned_data["resellable"]
            )
    except DomainError as exc:
        messages.error(request, f"{label}: {exc.message}")
    else:
        messages.success(request, f"{label} {RETURN_DONE[action]}.")
    return redirect(back)
