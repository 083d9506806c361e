"""Every move to, from and between the return statuses, for every role, as `orders.transitions.TRANSITIONS` says;
the return window's edge; who may decide, withdraw and escalate.

The cases come from the status list and the table, so a row added to the table is tested here without a
new line: an allowed move succeeds and writes its event; a refused one changes nothing, with 403
(`transition_not_allowed`) when the role may never reach that status and 409 (`invalid_transition`) when
it may, but not from there.
"""

import functools
from datetime import timedelta
from unittest import mock

import pytest

from joycart.errors import NotFound
from orders.errors import AlreadyEscalated, InvalidTransition, ReturnWindowClosed, TransitionNotAllowed
from orders.models import DELIVERED_STATUSES, ActorRole, OrderEvent, OrderItem, OrderItemStatus, ReturnRequest
from orders.services.lifecycle import order_item_transition
from orders.services.returns import (
    order_item_return_approve,
    order_item_return_escalate,
    order_item_return_receive,
    order_item_return_reject,
    order_item_return_request,
    order_item_return_withdraw,
    return_complete,
    return_deadline,
    return_window_refusal,
)
from orders.transitions import TRANSITIONS
from payments.models import Payout, PayoutStatus
from payments.services.returns import payout_mark_paid
from tests.factories import ProductFactory, StoreFactory, UserFactory
from tests.orders.helpers import buy_now, items_of, make_buyer, order_of
from tests.returns.helpers import UPI, deliver

pytestmark = pytest.mark.django_db
S = OrderItemStatus
Role = ActorRole

# The statuses only a return reaches; DELIVERED is where it starts and where a withdrawal ends.
RETURN_STATUSES = DELIVERED_STATUSES - {S.DELIVERED}
ROLES = list(Role)
PAIRS = [
    (source, target)
    for source in S
    for target in S
    if source != target and (source in DELIVERED_STATUSES or target in DELIVERED_STATUSES)
]
RETURN_ROWS = [pair for pair in TRANSITIONS if set(pair) & RETURN_STATUSES]


def reachable(role: str) -> set[str]:
    return {target for (_, target), roles in TRANSITIONS.items() if role in roles}


def expected_refusal(source: str, target: str, role: str) -> type[Exception] | None:
    if role in TRANSITIONS.get((source, target), frozenset()):
        return None
    return InvalidTransition if target in reachable(role) else TransitionNotAllowed


class Cast:
    """A delivered Cash on Delivery item and everyone who may act on it."""

    def __init__(self) -> None:
        self.buyer = make_buyer()
        self.item = deliver(items_of(buy_now(self.buyer, ProductFactory(), 1))[0])
        self.seller = self.item.seller.user
        self.staff = UserFactory(is_staff=True)

    def actor(self, role: str):
        return {Role.BUYER: self.buyer, Role.SELLER: self.seller, Role.STAFF: self.staff, Role.SYSTEM: None}[role]

    def status(self) -> str:
        return OrderItem.objects.values_list("status", flat=True).get(pk=self.item.pk)


@pytest.fixture
def cast() -> Cast:
    return Cast()


def status_of(item) -> str:
    return OrderItem.objects.values_list("status", flat=True).get(pk=item.pk)


# --- the table, move by move, role by role ---------------------------------------------------


def test_every_return_row_of_the_table_is_among_the_cases():
    assert RETURN_ROWS, "the table has no return moves"
    assert set(RETURN_ROWS) <= set(PAIRS)
    assert set(RETURN_ROWS) == set(RETURN_SERVICES), "a return move without a service test below"


@pytest.mark.parametrize(("source", "target"), PAIRS, ids=[f"{s}->{t}" for s, t in PAIRS])
def test_each_role_may_make_exactly_the_moves_the_table_gives_it(cast, source, target):
    for role in ROLES:
        OrderItem.objects.filter(pk=cast.item.pk).update(status=source)
        events = OrderEvent.objects.count()
        refusal = expected_refusal(source, target, role)
        move = functools.partial(
            order_item_transition,
            item_id=cast.item.pk,
            to_status=target,
            actor=cast.actor(role),
            role=role,
            reason="Checked by hand",
        )
        if refusal is None:
            moved = move()
            assert (moved.status, cast.status()) == (target, target), role
            event = OrderEvent.objects.latest("pk")
            assert (event.from_status, event.to_status, event.actor_role) == (source, target, role)
        else:
            with pytest.raises(refusal) as refused:
                move()
            assert refused.value.status_code == (409 if refusal is InvalidTransition else 403), role
            assert cast.status() == source, role
            assert OrderEvent.objects.count() == events, role


# --- the same moves through the return services, from states reached through them --------------


def arrive(cast: Cast, status: str) -> None:
    """Take the delivered item to `status` the way people do."""
    item, buyer, seller = cast.item.pk, cast.buyer, cast.seller
    steps = {
        S.RETURN_REQUESTED: lambda: order_item_return_request(
            item_id=item, buyer=buyer, reason="damaged", refund_to=UPI
        ),
        S.RETURN_APPROVED: lambda: order_item_return_approve(item_id=item, actor=seller),
        S.RETURN_REJECTED: lambda: order_item_return_reject(item_id=item, actor=seller, reason="Used"),
        S.RETURN_ESCALATED: lambda: order_item_return_escalate(item_id=item, buyer=buyer, comment="Never used"),
        S.RETURN_RECEIVED: lambda: order_item_return_receive(item_id=item, actor=seller, resellable=False),
    }
    path = {
        S.DELIVERED: [],
        S.RETURN_REQUESTED: [S.RETURN_REQUESTED],
        S.RETURN_APPROVED: [S.RETURN_REQUESTED, S.RETURN_APPROVED],
        S.RETURN_REJECTED: [S.RETURN_REQUESTED, S.RETURN_REJECTED],
        S.RETURN_ESCALATED: [S.RETURN_REQUESTED, S.RETURN_REJECTED, S.RETURN_ESCALATED],
        S.RETURN_RECEIVED: [S.RETURN_REQUESTED, S.RETURN_APPROVED, S.RETURN_RECEIVED],
    }[status]
    for step in path:
        steps[step]()
    assert cast.status() == status


def _returned(cast: Cast, actor, role: str) -> None:
    payout = Payout.objects.get(order_item=cast.item)
    if role == Role.STAFF:
        payout_mark_paid(payout_id=payout.pk, utr="UTR0001", staff=actor)
    else:  # the system finishes it once the money is final
        Payout.objects.filter(pk=payout.pk).update(status=PayoutStatus.PAID, utr="UTR0001")
        assert return_complete(item_id=cast.item.pk) is not None


RETURN_SERVICES = {
    (S.DELIVERED, S.RETURN_REQUESTED): lambda c, actor, role: order_item_return_request(
        item_id=c.item.pk, buyer=actor, reason="size_fit", refund_to=UPI
    ),
    (S.RETURN_REQUESTED, S.DELIVERED): lambda c, actor, role: order_item_return_withdraw(
        item_id=c.item.pk, buyer=actor
    ),
    (S.RETURN_REQUESTED, S.RETURN_APPROVED): lambda c, actor, role: order_item_return_approve(
        item_id=c.item.pk, actor=actor, role=role
    ),
    (S.RETURN_REQUESTED, S.RETURN_REJECTED): lambda c, actor, role: order_item_return_reject(
        item_id=c.item.pk, actor=actor, role=role, reason="Tags removed"
    ),
    (S.RETURN_REJECTED, S.RETURN_ESCALATED): lambda c, actor, role: order_item_return_escalate(
        item_id=c.item.pk, buyer=actor
    ),
    (S.RETURN_REJECTED, S.RETURN_APPROVED): lambda c, actor, role: order_item_return_approve(
        item_id=c.item.pk, actor=actor, role=role
    ),
    (S.RETURN_ESCALATED, S.RETURN_APPROVED): lambda c, actor, role: order_item_return_approve(
        item_id=c.item.pk, actor=actor, role=role
    ),
    (S.RETURN_ESCALATED, S.RETURN_REJECTED): lambda c, actor, role: order_item_return_reject(
        item_id=c.item.pk, actor=actor, role=role, reason="Photos show wear"
    ),
    (S.RETURN_APPROVED, S.RETURN_RECEIVED): lambda c, actor, role: order_item_return_receive(
        item_id=c.item.pk, actor=actor, role=role, resellable=True
    ),
    (S.RETURN_RECEIVED, S.RETURNED): lambda c, actor, role: _returned(c, actor, role),
}
SERVICE_CASES = [(source, target, role) for (source, target), roles in TRANSITIONS.items() for role in sorted(roles)]
SERVICE_CASES = [case for case in SERVICE_CASES if case[:2] in RETURN_SERVICES]


@pytest.mark.parametrize(("source", "target", "role"), SERVICE_CASES, ids=["->".join(case) for case in SERVICE_CASES])
def test_each_allowed_return_move_through_its_service(cast, source, target, role):
    arrive(cast, source)
    RETURN_SERVICES[(source, target)](cast, cast.actor(role), role)
    assert cast.status() == target
    event = OrderEvent.objects.filter(item=cast.item).latest("pk")
    assert (event.from_status, event.to_status, event.actor_role) == (source, target, role)


# --- the window's edge ----------------------------------------------------------------------


def request_at(cast: Cast, moment) -> None:
    with mock.patch("django.utils.timezone.now", return_value=moment):
        order_item_return_request(item_id=cast.item.pk, buyer=cast.buyer, reason="other", refund_to=UPI)


class TestWindow:
    def test_the_window_runs_from_delivery_for_the_days_sold_with(self, cast):
        item = OrderItem.objects.get(pk=cast.item.pk)
        assert item.return_window_days == 7 and item.delivered_at is not None
        assert return_deadline(item) == item.delivered_at + timedelta(days=7)

    def test_the_last_second_of_the_window_is_inside(self, cast):
        deadline = return_deadline(OrderItem.objects.get(pk=cast.item.pk))
        request_at(cast, deadline)
        assert cast.status() == S.RETURN_REQUESTED

    def test_the_first_instant_after_it_is_outside(self, cast):
        deadline = return_deadline(OrderItem.objects.get(pk=cast.item.pk))
        for late in (deadline + timedelta(microseconds=1), deadline + timedelta(seconds=1)):
            with pytest.raises(ReturnWindowClosed) as refused:
                request_at(cast, late)
            assert refused.value.status_code == 409
        assert cast.status() == S.DELIVERED
        assert not ReturnRequest.objects.filter(item=cast.item).exists()

    def test_the_refusal_reads_the_same_from_the_item_alone(self, cast):
        item = OrderItem.objects.get(pk=cast.item.pk)
        deadline = return_deadline(item)
        assert return_window_refusal(item, now=deadline - timedelta(seconds=1)) is None
        assert return_window_refusal(item, now=deadline) is None
        assert isinstance(return_window_refusal(item, now=deadline + timedelta(seconds=1)), ReturnWindowClosed)

    def test_a_withdrawn_request_may_be_made_again_within_the_window(self, cast):
        arrive(cast, S.RETURN_REQUESTED)
        order_item_return_withdraw(item_id=cast.item.pk, buyer=cast.buyer)
        assert cast.status() == S.DELIVERED and not ReturnRequest.objects.filter(item=cast.item).exists()
        arrive(cast, S.RETURN_REQUESTED)


# --- decisions, withdrawals, escalations ------------------------------------------------------


class TestDecisions:
    @pytest.mark.parametrize("status", [S.RETURN_APPROVED, S.RETURN_REJECTED, S.RETURN_ESCALATED, S.RETURN_RECEIVED])
    def test_a_withdrawal_comes_only_before_a_decision(self, cast, status):
        arrive(cast, status)
        with pytest.raises(InvalidTransition):
            order_item_return_withdraw(item_id=cast.item.pk, buyer=cast.buyer)
        assert cast.status() == status
        assert ReturnRequest.objects.filter(item=cast.item).exists()

    def test_a_rejection_is_escalated_once_and_support_decides_for_good(self, cast):
        arrive(cast, S.RETURN_ESCALATED)
        with pytest.raises(InvalidTransition):  # already escalated, still waiting for staff
            order_item_return_escalate(item_id=cast.item.pk, buyer=cast.buyer)
        order_item_return_reject(item_id=cast.item.pk, actor=cast.staff, reason="Photos show wear")
        with pytest.raises(AlreadyEscalated) as refused:
            order_item_return_escalate(item_id=cast.item.pk, buyer=cast.buyer, comment="Please look again")
        assert refused.value.status_code == 409
        assert cast.status() == S.RETURN_REJECTED

    @pytest.mark.parametrize("status", [S.RETURN_REQUESTED, S.RETURN_APPROVED])
    def test_only_a_rejection_can_be_escalated(self, cast, status):
        arrive(cast, status)
        with pytest.raises(InvalidTransition):
            order_item_return_escalate(item_id=cast.item.pk, buyer=cast.buyer)
        assert ReturnRequest.objects.get(item=cast.item).escalated_at is None

    @pytest.mark.parametrize("status", [S.RETURN_REJECTED, S.RETURN_ESCALATED])
    def test_staff_overturn_a_rejection_the_seller_cannot(self, cast, status):
        arrive(cast, status)
        with pytest.raises(InvalidTransition):
            order_item_return_approve(item_id=cast.item.pk, actor=cast.seller)
        assert cast.status() == status
        order_item_return_approve(item_id=cast.item.pk, actor=cast.staff)
        assert cast.status() == S.RETURN_APPROVED
        assert OrderEvent.objects.filter(item=cast.item).latest("pk").actor_role == Role.STAFF

    def test_the_buyer_can_neither_decide_nor_receive(self, cast):
        arrive(cast, S.RETURN_REQUESTED)
        for attempt in (
            lambda: order_item_return_approve(item_id=cast.item.pk, actor=cast.buyer),
            lambda: order_item_return_reject(item_id=cast.item.pk, actor=cast.buyer, reason="I changed my mind"),
            lambda: order_item_return_receive(item_id=cast.item.pk, actor=cast.buyer, resellable=True),
        ):
            with pytest.raises(TransitionNotAllowed):
                attempt()
        assert cast.status() == S.RETURN_REQUESTED

    def test_a_seller_cannot_act_on_another_sellers_item_even_in_the_same_order(self):
        buyer = make_buyer()
        ours, theirs = ProductFactory(store=StoreFactory()), ProductFactory(store=StoreFactory())
        own_item, other_item = (deliver(item) for item in items_of(order_of(buyer, {ours: 1, theirs: 1})))
        for item in (own_item, other_item):
            order_item_return_request(item_id=item.pk, buyer=buyer, reason="damaged", refund_to=UPI)
        stranger = ours.store.user
        for role in (None, Role.SELLER):
            with pytest.raises(NotFound):
                order_item_return_approve(item_id=other_item.pk, actor=stranger, role=role)
            with pytest.raises(NotFound):
                order_item_return_reject(item_id=other_item.pk, actor=stranger, role=role, reason="Not mine")
        assert status_of(other_item) == S.RETURN_REQUESTED
        order_item_return_approve(item_id=own_item.pk, actor=stranger)
        assert status_of(own_item) == S.RETURN_APPROVED

    def test_another_buyer_cannot_ask_to_return_an_item(self, cast):
        with pytest.raises(NotFound):
            order_item_return_request(item_id=cast.item.pk, buyer=make_buyer(), reason="other", refund_to=UPI)
        assert cast.status() == S.DELIVERED
