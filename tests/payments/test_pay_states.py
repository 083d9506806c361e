"""The pay page and `POST /api/v1/orders/{id}/pay/` in every state of the order.

Finding 8: the gateway order is created outside any transaction, so the order may expire, or be
paid in another tab, while the gateway answers; the page must then show the order with a message
(never a 500), and the API answer 409 `payment_not_awaited`.
Finding 6, for orders placed before checkout refused them: an online order under ₹1.00 can never
get a gateway order, so the buyer is told, instead of a "Try again" that can never succeed.
"""

import threading
from decimal import Decimal

import pytest
from django.test import Client

from orders.models import Order, OrderItemStatus, OrderStatus
from payments.gateway import get_gateway
from payments.models import Payment, PaymentStatus
from payments.services import online
from payments.services.expiry import orders_expire_unpaid
from payments.services.webhooks import webhook_receive
from tests.factories import ProductFactory
from tests.orders.helpers import bearer, make_buyer, run_concurrently
from tests.orders.test_views import login
from tests.payments.online_helpers import age, buy_now_online, events, pay_url, payment_of, statuses
from tests.payments.test_online_pages import HOST, flashes

S = OrderItemStatus
EXPIRED_MESSAGE = "is no longer awaiting payment: its time to pay ran out, so it cannot be paid now."


@pytest.fixture
def unpaid(buyer, product, sandbox_gateway):
    """An online order whose gateway order checkout could not create: the pay page creates it."""
    sandbox_gateway.fail_next(1, path="/v1/orders")
    order = buy_now_online(buyer, product)
    assert payment_of(order).gateway_order_id is None
    return order


def page_url(order: Order) -> str:
    return f"/orders/{order.number}/pay/"


def expire(order: Order) -> None:
    """The deadline passes and the expiry job runs: the items are cancelled, their stock released."""
    age(order, 16)
    orders_expire_unpaid()


def pay_in_another_tab(order: Order, sandbox) -> None:
    """The buyer pays the same gateway order elsewhere, and its webhooks arrive."""
    sandbox.pay(payment_of(order).gateway_order_id)
    for event in events(sandbox):
        webhook_receive(body=event.body, signature=event.headers["X-Razorpay-Signature"], event_id=event.id)


@pytest.fixture
def meanwhile(monkeypatch, sandbox_gateway):
    """`meanwhile(action, when=...)`: run `action()` while the pay page waits on the gateway.

    - "creating": after the gateway made the order, before its answer reaches us;
    - "failing": before the gateway answers with an error;
    - "ensured": after the gateway order is stored, before the page reads the order again.
    """

    def arm(action, *, when: str = "creating") -> None:
        if when == "ensured":
            ensure = online.payment_gateway_order_ensure

            def ensure_then_act(**kwargs):
                payment = ensure(**kwargs)
                action()
                return payment

            monkeypatch.setattr(online, "payment_gateway_order_ensure", ensure_then_act)
            return
        gateway = get_gateway()
        create = gateway.order_create
        if when == "failing":
            sandbox_gateway.fail_next(1, path="/v1/orders")

        def slow_create(**kwargs):
            if when == "failing":
                action()
                return create(**kwargs)
            created = create(**kwargs)
            action()
            return created

        monkeypatch.setattr(gateway, "order_create", slow_create)

    return arm


@pytest.fixture
def shopper(buyer) -> Client:
    return login(Client(HTTP_HOST=HOST), buyer)


CHANGES = {
    "deadline-passed": (lambda order, sandbox: age(order, 16), "creating"),
    "expired": (lambda order, sandbox: expire(order), "creating"),
    "expired-and-the-gateway-failed": (lambda order, sandbox: expire(order), "failing"),
    "paid-in-another-tab": (pay_in_another_tab, "ensured"),
}


@pytest.mark.django_db
class TestFinding8OrderChangesWhileThePayPageLoads:
    @pytest.mark.parametrize("change", list(CHANGES))
    def test_finding8_the_page_shows_the_order_with_a_message_never_a_500(
        self, shopper, unpaid, sandbox_gateway, meanwhile, change
    ):
        action, when = CHANGES[change]
        meanwhile(lambda: action(unpaid, sandbox_gateway), when=when)

        response = shopper.get(page_url(unpaid))

        assert response.status_code == 302, response.status_code
        assert response["Location"] == f"/orders/{unpaid.number}/"
        expected = (
            f"Order {unpaid.number} is paid. Thank you!"
            if change == "paid-in-another-tab"
            else f"Order {unpaid.number} {EXPIRED_MESSAGE}"
        )
        assert flashes(response) == [expected]
        assert shopper.get(response["Location"]).status_code == 200

    @pytest.mark.parametrize("change", list(CHANGES))
    def test_finding8_the_api_answers_409_payment_not_awaited(self, unpaid, buyer, sandbox_gateway, meanwhile, change):
        action, when = CHANGES[change]
        meanwhile(lambda: action(unpaid, sandbox_gateway), when=when)

        response = bearer(buyer).post(pay_url(unpaid))

        assert response.status_code == 409, response.content
        assert response.json() == {"detail": "This order is no longer awaiting payment.", "code": "payment_not_awaited"}

    def test_an_order_still_awaiting_payment_opens_the_checkout(self, shopper, unpaid, sandbox_gateway):
        page = shopper.get(page_url(unpaid)).content.decode()
        assert 'data-testid="pay-link"' in page
        assert payment_of(unpaid).gateway_order_id in page


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_finding8_an_expiry_racing_the_pay_page_on_real_threads_never_answers_500(monkeypatch, sandbox_gateway):
    """The expiry job runs in its own thread (and connection) while the page's request waits on the gateway."""
    buyer, product = make_buyer(), ProductFactory(price=Decimal("499.00"))
    sandbox_gateway.fail_next(1, path="/v1/orders")
    order = buy_now_online(buyer, product)
    shopper = login(Client(HTTP_HOST=HOST), buyer)
    creating, expired = threading.Event(), threading.Event()
    gateway = get_gateway()
    create = gateway.order_create

    def slow_create(**kwargs):
        creating.set()
        created = create(**kwargs)
        assert expired.wait(timeout=20), "the expiry never ran"
        return created

    monkeypatch.setattr(gateway, "order_create", slow_create)

    def act(index: int):
        if index == 0:
            return shopper.get(page_url(order))
        assert creating.wait(timeout=20), "the page never asked the gateway"
        expire(order)
        expired.set()
        return "expired"

    page, outcome = run_concurrently(act, 2)

    assert outcome == "expired"
    assert getattr(page, "status_code", page) == 302
    assert page["Location"] == f"/orders/{order.number}/"
    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED and statuses(order) == [S.CANCELLED]
    assert Payment.objects.get(order=order).status == PaymentStatus.NOT_REQUIRED


@pytest.mark.django_db
class TestFinding6AnOrderUnderTheGatewayMinimum:
    """An online order of ₹0.50, placed before checkout refused such orders."""

    @pytest.fixture
    def legacy(self, buyer, product, sandbox_gateway):
        sandbox_gateway.fail_next(1, path="/v1/orders")
        order = buy_now_online(buyer, product)
        Order.objects.filter(pk=order.pk).update(total=Decimal("0.50"))
        Payment.objects.filter(order=order).update(amount=Decimal("0.50"))
        order.refresh_from_db()
        return order

    def test_finding6_the_pay_page_says_why_instead_of_try_again(self, shopper, legacy, sandbox_gateway):
        response = shopper.get(page_url(legacy))
        page = response.content.decode()
        assert response.status_code == 409
        assert 'data-testid="pay-below-minimum"' in page and "the least that can be paid online" in page
        assert 'data-testid="pay-retry"' not in page and 'data-testid="pay-link"' not in page
        assert sandbox_gateway.orders == {}  # never asked: it would refuse every time

    def test_finding6_the_pay_api_answers_409_amount_below_minimum(self, legacy, buyer, sandbox_gateway):
        response = bearer(buyer).post(pay_url(legacy))
        assert response.status_code == 409, response.content
        assert response.json()["code"] == "amount_below_minimum"
        assert sandbox_gateway.orders == {}
