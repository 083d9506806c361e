"""`payment.captured` and `order.paid` for one payment, delivered at the same moment to our endpoint (Razorpay sends
both on every capture, at least once each, in no order): on PostgreSQL with real threads, the order's items move
PENDING_PAYMENT → PLACED exactly once, with one set of effects (stock taken once, at checkout; one "placed" mail
to the buyer and one to each seller)."""

from decimal import Decimal

import pytest
from django.core import mail
from django.test import Client

from orders.models import OrderItemStatus, OrderStatus
from payments.models import PaymentStatus, WebhookEvent, WebhookOutcome
from tests.factories import ProductFactory, StoreFactory
from tests.orders.helpers import make_buyer, run_concurrently, stock_of
from tests.payments.online_helpers import deliver, events, payment_of, place_online, placements, statuses

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

S = OrderItemStatus


@pytest.mark.parametrize("copies", [1, 4], ids=["one-of-each", "four-of-each"])
def test_concurrent_payment_captured_and_order_paid_place_the_order_once(sandbox_gateway, copies):
    lamp = ProductFactory(store=StoreFactory(), stock=10, price=Decimal("250.00"))
    rug = ProductFactory(store=StoreFactory(), stock=10, price=Decimal("99.00"))
    for _round in range(4):
        mail.outbox.clear()
        buyer = make_buyer()
        order = place_online(buyer, {lamp: 2, rug: 1})
        sandbox_gateway.pay(payment_of(order).gateway_order_id)
        [captured] = events(sandbox_gateway, "payment.captured")[-1:]
        [paid] = events(sandbox_gateway, "order.paid")[-1:]
        deliveries = [captured, paid] * copies

        responses = run_concurrently(lambda i, deliveries=deliveries: deliver(Client(), deliveries[i]), len(deliveries))

        assert [getattr(response, "status_code", response) for response in responses] == [200] * len(deliveries)
        order.refresh_from_db()
        assert order.status == OrderStatus.PLACED and statuses(order) == [S.PLACED, S.PLACED]
        assert placements(order) == 2  # one move per item
        payment = payment_of(order)
        assert payment.status == PaymentStatus.CAPTURED and not payment.flagged
        stored = dict(
            WebhookEvent.objects.filter(event_id__in=[captured.id, paid.id]).values_list("event_type", "outcome")
        )
        assert sorted(stored.values()) == [WebhookOutcome.IGNORED, WebhookOutcome.PROCESSED]  # one applied it
        subjects = sorted(message.subject for message in mail.outbox)
        assert subjects.count(f"Your JoyCart order {order.number} is placed") == 1, subjects
        assert len([s for s in subjects if s.startswith(f"New order {order.number}")]) == 2, subjects  # per seller
    assert (stock_of(lamp), stock_of(rug)) == (10 - 4 * 2, 10 - 4 * 1)  # taken at checkout, never again
