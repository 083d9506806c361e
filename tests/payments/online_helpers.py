"""Arrangement for the online payment tests: online orders placed through the real checkout, and the
sandbox's signed webhooks handed to our endpoint through Django's test client (no HTTP round trip;
the live-server tests use real deliveries instead)."""

from datetime import timedelta

from django.utils import timezone

from catalog.models import Product
from orders.models import Order, OrderEvent, OrderItemStatus
from orders.services.checkout import checkout_place
from payments.models import Payment
from tests.conftest import RAZORPAY_WEBHOOK_PATH
from tests.factories import as_variant
from tests.orders.helpers import new_key, put_in_cart

WEBHOOK = RAZORPAY_WEBHOOK_PATH
VERIFY = "/api/v1/payments/razorpay/verify/"
CALLBACK = "/payments/razorpay/callback/"
CHECKOUT = "/api/v1/checkout/"


def pay_url(order: Order) -> str:
    return f"/api/v1/orders/{order.pk}/pay/"


def place_online(buyer, lines: dict[Product, int], *, key: str | None = None) -> Order:
    """An online order through the cart, as checkout leaves it: items awaiting payment, stock reserved."""
    for product, quantity in lines.items():
        put_in_cart(buyer, product, quantity)
    order, _created = checkout_place(
        buyer=buyer,
        source="cart",
        address_id=buyer.address.pk,
        payment_method="ONLINE",
        idempotency_key=key or new_key(),
    )
    return order


def checkout_online(client, buyer, product: Product, quantity: int = 1, *, key: str | None = None):
    """`POST /api/v1/checkout/`: "Buy now", paid online, to the buyer's address; returns the response."""
    body = {
        "source": "buy_now",
        "variant_id": as_variant(product).pk,
        "quantity": quantity,
        "address_id": buyer.address.pk,
        "payment_method": "ONLINE",
    }
    return client.post(CHECKOUT, body, format="json", HTTP_IDEMPOTENCY_KEY=key or new_key())


def buy_now_online(buyer, product: Product, quantity: int = 1, *, key: str | None = None) -> Order:
    order, _created = checkout_place(
        buyer=buyer,
        source="buy_now",
        variant_id=as_variant(product).pk,
        quantity=quantity,
        address_id=buyer.address.pk,
        payment_method="ONLINE",
        idempotency_key=key or new_key(),
    )
    return order


def payment_of(order: Order) -> Payment:
    return Payment.objects.get(order=order)


def statuses(order: Order) -> list[str]:
    return list(order.items.order_by("pk").values_list("status", flat=True))


def placements(order: Order) -> int:
    """How many PENDING_PAYMENT → PLACED moves the order's timeline holds."""
    return OrderEvent.objects.filter(
        order=order, from_status=OrderItemStatus.PENDING_PAYMENT, to_status=OrderItemStatus.PLACED
    ).count()


def age(order: Order, minutes: float) -> None:
    """Pretend the order (and its payment) was placed `minutes` ago."""
    then = timezone.now() - timedelta(minutes=minutes)
    Order.objects.filter(pk=order.pk).update(created_at=then)
    Payment.objects.filter(order=order).update(created_at=then)


def events(sandbox, name: str | None = None) -> list:
    return [event for event in sandbox.events if name in (None, event.name)]


def deliver(client, event, *, body: bytes | None = None, **headers):
    """POST one of the sandbox's signed events to our webhook endpoint, as Razorpay would."""
    wire = {
        "HTTP_X_RAZORPAY_SIGNATURE": event.headers["X-Razorpay-Signature"],
        "HTTP_X_RAZORPAY_EVENT_ID": event.id,
        **headers,
    }
    wire = {name: value for name, value in wire.items() if value is not None}
    return client.post(WEBHOOK, data=event.body if body is None else body, content_type="application/json", **wire)


def deliver_all(client, sandbox, name: str | None = None) -> list:
    responses = [deliver(client, event) for event in events(sandbox, name)]
    assert all(response.status_code == 200 for response in responses), [r.content for r in responses]
    return responses


def success_fields(paid: dict) -> dict[str, str]:
    """What the checkout hands back after `sandbox.pay(...)`."""
    return {
        "razorpay_order_id": paid["order_id"],
        "razorpay_payment_id": paid["id"],
        "razorpay_signature": paid["razorpay_signature"],
    }
