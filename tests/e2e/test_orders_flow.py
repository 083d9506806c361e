"""Orders in the browser: checkout with a new address, the seller's fulfilment, and a buyer's cancellation."""

import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from catalog.models import Product
from catalog.services.products import product_create
from orders.models import Order
from tests.factories import CategoryFactory, StoreFactory, UserFactory, only_variant
from tests.orders.helpers import make_buyer, stock_of

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def shop():
    clothing = CategoryFactory(name="Clothing", slug="clothing")
    audio = CategoryFactory(name="Audio", slug="audio")
    looms = StoreFactory(name="Kanchi Looms")
    sound = StoreFactory(name="Sur Sound")
    products = {}
    for store, title, price, category, sku, stock in [
        (looms, "Kanjivaram silk saree", "8999.00", clothing, "KS-1", 6),
        (looms, "Banarasi silk saree", "6499.00", clothing, "KS-2", 3),
        (sound, "Wireless earbuds", "1499.00", audio, "SS-1", 20),
    ]:
        products[sku] = product_create(
            store=store, title=title, brand="", price=Decimal(price), category=category, sku=sku, stock=stock
        )
    return {"looms": looms, "sound": sound, **products}


def add_to_cart(page, product: Product, quantity: int) -> None:
    page.goto(f"/products/{product.slug}/")
    page.get_by_label("Quantity").select_option(str(quantity))
    page.get_by_test_id("add-to-cart").click()
    expect(page.locator(".messages")).to_contain_text(f"Added {quantity} of {product.title}")


def test_checkout_with_a_new_address_then_the_seller_delivers(page, login, shot, shop):
    saree, earbuds = shop["KS-1"], shop["SS-1"]
    buyer = UserFactory(first_name="Meera", last_name="Iyer")
    login(buyer)
    add_to_cart(page, saree, 2)
    add_to_cart(page, earbuds, 1)

    # 1. Checkout from the cart; the buyer has no address yet and adds one on the way.
    page.get_by_test_id("nav-cart").click()
    page.get_by_test_id("checkout-button").click()
    expect(page).to_have_url(re.compile(r"/checkout/$"))
    expect(page.get_by_test_id("no-addresses")).to_be_visible()
    expect(page.get_by_test_id("place-order")).to_be_disabled()
    page.get_by_test_id("add-address").click()
    page.get_by_label("Full name").fill("Meera Iyer")
    page.get_by_label("Mobile number").fill("+91 98765 43210")
    page.get_by_label("Address line 1").fill("12 Temple Road, Mylapore")
    page.get_by_label("City").fill("Chennai")
    page.get_by_label("State").select_option(label="Tamil Nadu")
    page.get_by_label("PIN code").fill("600004")
    shot("orders-01-new-address-during-checkout")
    page.get_by_role("button", name="Save address").click()

    expect(page).to_have_url(re.compile(r"/checkout/\?source=cart&address=newest$"))
    choice = page.get_by_test_id("address-choice")
    expect(choice).to_have_count(1)
    expect(choice.locator("input")).to_be_checked()
    expect(choice).to_contain_text("12 Temple Road, Mylapore")
    groups = page.get_by_test_id("checkout-seller-group")
    expect(groups).to_have_count(2)
    expect(groups.first).to_contain_text("Sold by Kanchi Looms")
    expect(groups.nth(1)).to_contain_text("Sold by Sur Sound")
    expect(page.get_by_test_id("checkout-total")).to_have_text("₹19,497.00")
    expect(page.get_by_label("Cash on Delivery")).to_be_checked()
    shot("orders-02-checkout-summary")
    page.get_by_test_id("place-order").click()

    order = Order.objects.get(buyer=buyer)
    expect(page).to_have_url(re.compile(rf"/orders/{order.number}/$"))
    expect(page.locator(".messages")).to_contain_text(f"Order {order.number} is placed. Pay ₹19,497.00 in cash")
    expect(page.get_by_test_id("order-item-status")).to_have_text(["Placed", "Placed"])
    expect(page.get_by_test_id("order-address")).to_contain_text("12 Temple Road, Mylapore")
    expect(page.get_by_test_id("payment-due")).to_have_text("₹19,497.00")
    expect(page.get_by_test_id("nav-cart-count")).to_have_text("0")
    shot("orders-03-order-placed")
    page.get_by_test_id("nav-orders").click()
    expect(page.get_by_test_id("order-card")).to_have_count(1)
    expect(page.get_by_test_id("order-card")).to_contain_text(order.number)
    page.get_by_test_id("nav-logout").click()

    # 2. The seller confirms, ships and delivers their item.
    login(shop["looms"].user)
    page.get_by_test_id("nav-seller").click()
    page.get_by_test_id("portal-orders").click()
    item = page.get_by_test_id("seller-order-item")
    expect(item).to_have_count(1)
    expect(item).to_contain_text("Kanjivaram silk saree")
    expect(item.get_by_test_id("seller-item-buyer")).to_have_text("Meera Iyer")
    expect(item).to_contain_text("Chennai, Tamil Nadu 600004")
    expect(item.get_by_test_id("seller-item-amount")).to_have_text("₹17,998.00")
    shot("orders-04-seller-new-order")
    item.get_by_test_id("confirm-item").click()
    expect(page.locator(".messages")).to_contain_text("confirmed")
    item.get_by_label("Carrier").fill("India Post")
    item.get_by_label("Tracking number").fill("EE123456789IN")
    shot("orders-05-seller-ready-to-ship")
    item.get_by_test_id("ship-item").click()
    expect(page.locator(".messages")).to_contain_text("marked shipped")
    expect(item.get_by_test_id("seller-item-status")).to_have_text("Shipped")
    item.get_by_test_id("deliver-item").click()
    expect(page.locator(".messages")).to_contain_text("marked delivered")
    expect(item.get_by_test_id("seller-item-status")).to_have_text("Delivered")
    expect(item.locator("form")).to_have_count(0)
    shot("orders-06-seller-delivered")
    page.get_by_test_id("nav-logout").click()

    # The buyer sees it delivered, with the shipment and the whole timeline.
    login(buyer)
    page.goto(f"/orders/{order.number}/")
    saree_row = page.get_by_test_id("order-item").filter(has_text="Kanjivaram silk saree")
    expect(saree_row.get_by_test_id("order-item-status")).to_have_text("Delivered")
    expect(saree_row.get_by_test_id("order-item-tracking")).to_contain_text("India Post")
    expect(saree_row.get_by_test_id("cancel-form")).to_have_count(0)
    timeline = page.get_by_test_id("timeline-entry")
    expect(timeline).to_have_count(5)  # two placed, then confirmed, shipped, delivered
    expect(timeline.last).to_contain_text("Shipped → Delivered by Kanchi Looms")
    shot("orders-07-buyer-sees-delivered")


def test_a_buyer_buys_now_then_cancels_and_the_stock_comes_back(page, login, shot, shop):
    banarasi = shop["KS-2"]  # 3 in stock
    buyer = make_buyer(first_name="Ravi", last_name="Kumar")
    login(buyer)

    page.goto(f"/products/{banarasi.slug}/")
    page.get_by_label("Quantity").select_option("3")
    page.get_by_test_id("buy-now").click()
    variant_id = only_variant(banarasi).pk
    expect(page).to_have_url(re.compile(rf"/checkout/\?source=buy_now&variant={variant_id}&quantity=3$"))
    expect(page.get_by_test_id("checkout-source")).to_contain_text("your cart stays as it is")
    expect(page.get_by_test_id("address-choice").locator("input")).to_be_checked()
    expect(page.get_by_test_id("checkout-total")).to_have_text("₹19,497.00")
    page.get_by_test_id("place-order").click()
    expect(page.locator(".messages")).to_contain_text("is placed")
    assert stock_of(banarasi) == 0
    page.goto(f"/products/{banarasi.slug}/")
    expect(page.get_by_test_id("stock-status")).to_have_text("Out of stock")

    page.get_by_test_id("nav-orders").click()
    page.get_by_test_id("order-link").click()
    row = page.get_by_test_id("order-item")
    row.get_by_text("Cancel this item").click()
    row.get_by_label("Reason for cancelling").fill("Found it cheaper <elsewhere>")
    shot("orders-08-buyer-cancelling")
    row.get_by_role("button", name="Cancel item").click()
    expect(page.locator(".messages")).to_contain_text("Cancelled “Banarasi silk saree”")
    expect(row.get_by_test_id("order-item-status")).to_have_text("Cancelled")
    expect(page.get_by_test_id("order-status")).to_have_text("Cancelled")
    expect(page.get_by_test_id("payment-status")).to_have_text("Not required")
    expect(page.get_by_test_id("timeline-reason")).to_have_text("Reason: Found it cheaper <elsewhere>")
    shot("orders-09-buyer-cancelled")

    assert stock_of(banarasi) == 3
    page.goto(f"/products/{banarasi.slug}/")
    expect(page.get_by_test_id("stock-status")).to_have_text("Only 3 left")
    expect(page.get_by_test_id("buy-now")).to_be_visible()
