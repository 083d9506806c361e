"""A hand-built shop for the dashboard tests: rows written directly, with the times we choose.

Checkout always stamps "now"; the figures are about days, so the orders here are placed at set
times relative to the shop's today (Asia/Kolkata), and their refunds likewise.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import F

from analytics.selectors import day_start, shop_today
from catalog.models import Product
from orders.models import Order, OrderItem, OrderItemStatus, OrderStatus, PaymentMethod
from payments.models import CaptureOutcome, GatewayCapture, Payment, PaymentStatus, Refund, RefundStatus
from tests.factories import CategoryFactory, ProductFactory, StoreFactory, UserFactory, only_variant

S = OrderItemStatus


def at(days_ago: int, hour: int, minute: int = 0) -> datetime:
    """`hour:minute` India time, `days_ago` shop days before today."""
    return day_start(shop_today() - timedelta(days=days_ago)).replace(hour=hour, minute=minute)


def place(
    buyer, lines: list[tuple[Product, int, str]], *, placed_at: datetime, method: str = PaymentMethod.COD
) -> Order:
    total = sum((product.price * quantity for product, quantity, _status in lines), Decimal(0))
    order = Order.objects.create(
        buyer=buyer,
        status=OrderStatus.PLACED,
        payment_method=method,
        total=total,
        idempotency_key=uuid.uuid4().hex,
        request_fingerprint="test",
        ship_name="Test Person",
        ship_phone="9876543210",
        ship_line1="1 Test Street",
        ship_city="Mumbai",
        ship_state="MH",
        ship_pincode="400001",
    )
    for product, quantity, status in lines:
        OrderItem.objects.create(
            order=order,
            product=product,
            seller=product.store,
            title=product.title,
            variant=only_variant(product),
            sku=only_variant(product).sku,
            unit_price=product.price,
            quantity=quantity,
            status=status,
        )
    online = method == PaymentMethod.ONLINE
    paid = online and any(status != S.PENDING_PAYMENT for _product, _quantity, status in lines)
    payment = Payment.objects.create(
        order=order,
        method=method,
        amount=total,
        status=PaymentStatus.CAPTURED if paid else PaymentStatus.PENDING,
        gateway_payment_id=f"pay_test{order.pk}" if paid else None,
        captured_amount=total if paid else 0,
        captured_at=placed_at if paid else None,
    )
    if paid:  # the capture that paid it, which its refunds pay back
        GatewayCapture.objects.create(
            payment=payment,
            gateway_payment_id=payment.gateway_payment_id,
            gateway_order_id=f"order_test{order.pk}",
            amount=total,
            currency="INR",
            captured_at=placed_at,
            outcome=CaptureOutcome.PAID,
        )
    Order.objects.filter(pk=order.pk).update(number=f"JC-{order.pk:06d}", created_at=placed_at)
    OrderItem.objects.filter(order=order).update(created_at=placed_at)
    return order


def refund(order: Order, product: Product, *, status: str, made_at: datetime) -> Refund:
    item = order.items.get(product=product)
    payment = order.payment
    made = Refund.objects.create(
        payment=payment,
        capture=payment.captures.get(),
        order_item=item,
        amount=item.line_total,
        status=status,
        idempotency_key=uuid.uuid4().hex,
    )
    Refund.objects.filter(pk=made.pk).update(created_at=made_at)
    if status != RefundStatus.FAILED:  # refunded_amount is what is committed to refunds that did not fail
        Payment.objects.filter(pk=payment.pk).update(refunded_amount=F("refunded_amount") + item.line_total)
    return made


@dataclass
class Shop:
    store: object
    other_store: object
    buyer: object
    a: Product  # ₹100.00
    b: Product  # ₹250.00
    x: Product  # the other store's, ₹80.00


def build_shop() -> Shop:
    """The fixture whose figures the tests know by heart (see EXPECTED in test_selectors)."""
    store = StoreFactory(name="Kanchi Looms")
    other_store = StoreFactory(name='=HYPERLINK("http://evil")')
    buyer = UserFactory(username="meera")
    category = CategoryFactory()

    def product(title, price, stock=10, *, store=store, **kwargs):
        return ProductFactory(store=store, category=category, title=title, price=Decimal(price), stock=stock, **kwargs)

    a = product("Silk saree", "100.00")
    b = product("Cotton kurta", "250.00")
    x = product("+Brass lamp", "80.00", store=other_store)
    product("Dupatta", "90.00", stock=3)
    product("Shawl", "90.00", stock=0)
    product("Stole", "90.00", stock=5)
    product("Scarf", "90.00", stock=6)  # one more than low
    product("Old stock", "90.00", stock=1, is_active=False)  # hidden: not the seller's worry now
    product("Someone else's low", "90.00", stock=1, store=other_store)

    # Today: two of mine (one at 00:10 India time, still yesterday in UTC) and the other store's line.
    place(buyer, [(a, 2, S.PLACED), (b, 1, S.CONFIRMED), (x, 5, S.PLACED)], placed_at=at(0, 9))
    place(buyer, [(b, 2, S.DELIVERED)], placed_at=at(0, 0, 10))
    cancelled_today = place(buyer, [(a, 1, S.CANCELLED)], placed_at=at(0, 11), method=PaymentMethod.ONLINE)
    refund(cancelled_today, a, status=RefundStatus.FAILED, made_at=at(0, 12))
    # Yesterday just before midnight India time.
    place(buyer, [(a, 1, S.SHIPPED)], placed_at=at(1, 23, 59))
    # Two days ago, online: one item confirmed, one cancelled and refunded.
    refunded = place(
        buyer, [(a, 1, S.CANCELLED), (b, 1, S.CONFIRMED)], placed_at=at(2, 15), method=PaymentMethod.ONLINE
    )
    refund(refunded, a, status=RefundStatus.REFUNDED, made_at=at(2, 16))
    # The first day of the 7, and the last minute before it.
    place(buyer, [(a, 1, S.DELIVERED), (b, 1, S.CANCELLED)], placed_at=at(6, 0, 5))
    place(buyer, [(a, 3, S.DELIVERED)], placed_at=at(7, 23, 59))
    # Awaiting an online payment: not a sale yet.
    place(buyer, [(b, 4, S.PENDING_PAYMENT)], placed_at=at(10, 10), method=PaymentMethod.ONLINE)
    # The day before the 30 days began.
    place(buyer, [(a, 1, S.DELIVERED)], placed_at=at(30, 12))
    # The other store's refund counts only for it.
    other_refunded = place(buyer, [(x, 1, S.CANCELLED)], placed_at=at(3, 10), method=PaymentMethod.ONLINE)
    refund(other_refunded, x, status=RefundStatus.PROCESSING, made_at=at(3, 11))
    return Shop(store=store, other_store=other_store, buyer=buyer, a=a, b=b, x=x)
