"""Paying online in the browser: checkout, the sandbox's checkout page (a failed try, then a good one), the
callback, "confirming…" until the sandbox's webhook reaches the live server, and the order placed. Then the
buyer cancels one item and watches its refund go through the refund task, the real SDK to the sandbox, and
the sandbox's signed `refund.processed` webhook back to the live server, to REFUNDED.

Nothing races the browser: the sandbox settles the refund only when the test says so, after the page shows
the gateway accepted it and while the browser is idle; the test waits for the webhook's delivery (a condition,
not a sleep) and then reloads, as the buyer would.
"""

import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from orders.models import Order, OrderItemStatus, OrderStatus
from payments.models import Payment, PaymentStatus, Refund, RefundStatus, WebhookEvent, WebhookOutcome
from tests.factories import ProductFactory, StoreFactory
from tests.orders.helpers import make_buyer, put_in_cart, stock_of

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_buyer_pays_online_on_the_sandbox_page_then_cancels_an_item_and_sees_it_refunded(
    page, login, shot, sandbox_webhooks_to_live_server
):
    sandbox = sandbox_webhooks_to_live_server
    sandbox.webhook_mode("late", seconds=2)  # so the page shows "confirming" before the webhook lands
    sandbox.configure(refund_delay=None)  # the refund settles when the test says so (part 2)
    store = StoreFactory(name="Kala Crafts")
    lamp = ProductFactory(store=store, title="Brass lamp", price=Decimal("499.00"), stock=4)
    mug = ProductFactory(store=store, title="Clay mug", price=Decimal("250.00"), stock=5)
    buyer = make_buyer(first_name="Asha")
    put_in_cart(buyer, lamp, 2)
    put_in_cart(buyer, mug, 1)
    login(buyer)

    page.goto("/checkout/")
    page.get_by_label("Online (Razorpay)").check()
    shot("online-01-checkout")
    page.get_by_test_id("place-order").click()

    order = Order.objects.get(buyer=buyer)
    expect(page).to_have_url(re.compile(rf"/orders/{order.number}/pay/$"))
    expect(page.get_by_test_id("pay-amount")).to_have_text("₹1,248.00")
    assert (stock_of(lamp), stock_of(mug)) == (2, 4)  # reserved while the buyer pays

    # A failed attempt first: back on the order page with the reason and "Try again".
    page.get_by_test_id("pay-link").click()
    expect(page.locator("h1")).to_have_text("Complete your payment")
    page.get_by_role("button", name="Fail").click()
    expect(page).to_have_url(re.compile(rf"/orders/{order.number}/$"))
    expect(page.get_by_test_id("payment-failed")).to_contain_text("Payment failed at the bank (sandbox)")
    shot("online-02-failed-try-again")
    page.get_by_test_id("pay-now").filter(has_text="Try again").click()

    page.get_by_test_id("pay-link").click()
    page.get_by_role("button", name="Pay").click()
    expect(page).to_have_url(re.compile(rf"/orders/{order.number}/$"))
    expect(page.get_by_test_id("payment-confirming")).to_have_text(
        "Payment received, confirming… This page refreshes by itself."
    )
    shot("online-03-confirming")

    # The page refreshes itself; the late payment.captured webhook places the order meanwhile.
    expect(page.get_by_test_id("payment-paid")).to_contain_text("Paid ₹1,248.00 online", timeout=15_000)
    expect(page.get_by_test_id("order-item-status")).to_have_text(["Placed", "Placed"])
    expect(page.get_by_test_id("payment-status")).to_have_text("Captured")
    expect(page.get_by_test_id("payment-refunded")).to_have_count(0)
    shot("online-04-placed")
    assert list(order.items.order_by("pk").values_list("status", flat=True)) == [OrderItemStatus.PLACED] * 2
    assert Payment.objects.get(order=order).status == PaymentStatus.CAPTURED
    assert (stock_of(lamp), stock_of(mug)) == (2, 4)
    # Every webhook so far has been delivered: none can land while the browser cancels.
    assert sandbox.wait_for_webhooks(timeout=10)
    sandbox.webhook_mode("normal")

    # Part 2: cancel the lamps. The refund task asks the sandbox (through the SDK) after the cancel commits.
    lamp_row = page.get_by_test_id("order-item").filter(has_text="Brass lamp")
    lamp_row.get_by_text("Cancel this item").click()
    lamp_row.get_by_label("Reason for cancelling").fill("Ordered the wrong size")
    lamp_row.get_by_role("button", name="Cancel item").click()
    expect(page.locator(".messages")).to_contain_text("Cancelled “Brass lamp”. Your refund of ₹998.00 is on its way.")
    expect(lamp_row.get_by_test_id("order-item-status")).to_have_text("Cancelled")
    expect(lamp_row.get_by_test_id("item-refund")).to_have_attribute("data-refund-status", "PROCESSING")
    expect(lamp_row.get_by_test_id("item-refund")).to_have_text(
        "Refund of ₹998.00 in progress: the payment gateway has accepted it."
    )
    mug_row = page.get_by_test_id("order-item").filter(has_text="Clay mug")
    expect(mug_row.get_by_test_id("order-item-status")).to_have_text("Placed")
    expect(mug_row.get_by_test_id("item-refund")).to_have_count(0)
    expect(page.get_by_test_id("order-status")).to_have_text("Partially cancelled")
    expect(page.get_by_test_id("payment-refunded")).to_have_text("₹998.00")
    shot("online-05-refund-processing")

    # The gateway processes the refund and sends its signed refund.processed webhook to the live server.
    refund = Refund.objects.get(order_item__order=order)
    assert refund.status == RefundStatus.PROCESSING and refund.gateway_refund_id
    assert sandbox.settle_refund(refund.gateway_refund_id)["status"] == "processed"
    assert sandbox.wait_for_webhooks(timeout=10)
    [delivery] = [d for d in sandbox.deliveries if d.event == "refund.processed"]
    assert delivery.status == 200

    page.reload()
    expect(lamp_row.get_by_test_id("item-refund")).to_have_attribute("data-refund-status", "REFUNDED")
    expect(lamp_row.get_by_test_id("item-refund")).to_have_text("Refunded ₹998.00 to the original payment method.")
    expect(mug_row.get_by_test_id("order-item-status")).to_have_text("Placed")
    expect(page.get_by_test_id("payment-refunded")).to_have_text("₹998.00")
    shot("online-06-refunded")
    refund.refresh_from_db()
    assert refund.status == RefundStatus.REFUNDED
    assert WebhookEvent.objects.get(event_type="refund.processed").outcome == WebhookOutcome.PROCESSED
    payment = Payment.objects.get(order=order)
    assert (payment.captured_amount, payment.refunded_amount) == (Decimal("1248.00"), Decimal("998.00"))
    assert [r["amount"] for r in sandbox.refunds.values()] == [99_800]  # one refund at the gateway
    order.refresh_from_db()
    assert order.status == OrderStatus.PARTIALLY_CANCELLED
    assert (stock_of(lamp), stock_of(mug)) == (4, 4)  # the lamps are back on sale
