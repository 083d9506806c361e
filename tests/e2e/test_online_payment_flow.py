"""Paying online in the browser: checkout, the sandbox's checkout page (a failed try, then a good one), the
callback, "confirming…" until the sandbox's webhook reaches the live server, and the order placed."""

import re

import pytest
from playwright.sync_api import expect

from orders.models import Order, OrderItemStatus
from payments.models import Payment, PaymentStatus
from tests.factories import ProductFactory, StoreFactory
from tests.orders.helpers import make_buyer, stock_of

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_buyer_pays_online_on_the_sandbox_page_and_sees_the_order_placed(
    page, login, shot, sandbox_webhooks_to_live_server
):
    sandbox = sandbox_webhooks_to_live_server
    sandbox.webhook_mode("late", seconds=2)  # so the page shows "confirming" before the webhook lands
    product = ProductFactory(store=StoreFactory(name="Kala Crafts"), title="Brass lamp", stock=4)
    buyer = make_buyer(first_name="Asha")
    login(buyer)

    page.goto(f"/checkout/?source=buy_now&product={product.pk}&quantity=2")
    page.get_by_label("Online (Razorpay)").check()
    shot("online-01-checkout")
    page.get_by_test_id("place-order").click()

    order = Order.objects.get(buyer=buyer)
    expect(page).to_have_url(re.compile(rf"/orders/{order.number}/pay/$"))
    expect(page.get_by_test_id("pay-amount")).to_have_text("₹998.00")
    assert stock_of(product) == 2  # reserved while the buyer pays

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
    expect(page.get_by_test_id("payment-paid")).to_contain_text("Paid ₹998.00 online", timeout=15_000)
    expect(page.get_by_test_id("order-item-status")).to_have_text("Placed")
    expect(page.get_by_test_id("payment-status")).to_have_text("Captured")
    shot("online-04-placed")
    assert list(order.items.values_list("status", flat=True)) == [OrderItemStatus.PLACED]
    assert Payment.objects.get(order=order).status == PaymentStatus.CAPTURED
    assert stock_of(product) == 2
