"""A return in the browser: the buyer returns a delivered Cash on Delivery item with a UPI id, the seller
approves and receives it, staff mark the payout paid, and the buyer sees where the money went."""

import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from catalog.services.products import product_create
from orders.models import OrderItemStatus
from payments.models import Payout
from payments.services.returns import payout_mark_paid
from tests.factories import CategoryFactory, StoreFactory, UserFactory
from tests.orders.helpers import buy_now, items_of, make_buyer, stock_of
from tests.returns.helpers import deliver

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_cod_item_is_returned_to_a_upi_id(page, login, shot):
    looms = StoreFactory(name="Kanchi Looms")
    saree = product_create(
        store=looms,
        title="Kanjivaram silk saree",
        brand="",
        price=Decimal("8999.00"),
        category=CategoryFactory(name="Sarees", slug="sarees"),
        sku="KS-1",
        stock=5,
    )
    buyer = make_buyer(first_name="Meera", last_name="Iyer")
    item = deliver(items_of(buy_now(buyer, saree, 1))[0])
    order = item.order

    # The product page states the policy.
    page.goto(f"/products/{saree.slug}/")
    expect(page.get_by_test_id("return-policy")).to_contain_text("7-day return")

    # 1. The buyer asks to return it, with a UPI id for the refund.
    login(buyer)
    page.goto(f"/orders/{order.number}/")
    row = page.get_by_test_id("order-item")
    expect(row.get_by_test_id("return-by")).to_contain_text("Return by")
    row.get_by_test_id("return-open").click()
    form = row.get_by_test_id("return-form")
    form.get_by_label("Why are you returning it?").select_option(label="Size or fit")
    form.get_by_label("Anything the seller should know").fill("The blouse piece is too small.")
    expect(form.get_by_label("UPI", exact=True)).to_be_checked()
    expect(form.get_by_label("Account number")).to_be_hidden()  # only the chosen account's fields
    shot("returns-01-buyer-return-form")
    form.get_by_role("button", name="Request return").click()
    expect(form.get_by_text("Enter your UPI id, like name@okaxis.")).to_be_visible()  # it was left blank
    form.get_by_label("UPI id").fill("meera.iyer@okaxis")
    shot("returns-02-buyer-return-form-filled")
    form.get_by_role("button", name="Request return").click()
    expect(page.locator(".messages")).to_contain_text("Return requested for “Kanjivaram silk saree”")
    expect(row.get_by_test_id("order-item-status")).to_have_text("Return requested")
    expect(row.get_by_test_id("item-return")).to_contain_text("Refund to UPI ••••@okaxis")
    expect(page.locator("main")).not_to_contain_text("meera.iyer")
    shot("returns-03-buyer-return-requested")
    page.get_by_test_id("nav-logout").click()

    # 2. The seller approves it, then receives it back in a state to sell again.
    login(looms.user)
    page.get_by_test_id("nav-seller").click()
    page.get_by_test_id("portal-returns").click()
    page.get_by_test_id("returns-tab").filter(has_text="To answer").click()
    card = page.get_by_test_id("seller-return-item")
    expect(card).to_have_count(1)
    expect(card.get_by_test_id("seller-return-reason")).to_contain_text("Size or fit")
    expect(card.get_by_test_id("seller-return-comment")).to_contain_text("The blouse piece is too small.")
    expect(card).not_to_contain_text("okaxis")
    shot("returns-04-seller-to-answer")
    card.get_by_test_id("return-approve").click()
    expect(page.locator(".messages")).to_contain_text("return approved")
    page.get_by_test_id("returns-tab").filter(has_text="To receive").click()
    card = page.get_by_test_id("seller-return-item")
    card.get_by_label("Yes, restock 1").check()
    shot("returns-05-seller-to-receive")
    card.get_by_test_id("return-receive").click()
    expect(page.locator(".messages")).to_contain_text("received back")
    page.get_by_test_id("returns-tab").filter(has_text="Received").click()
    expect(page.get_by_test_id("seller-item-status")).to_have_text("Return received")
    shot("returns-06-seller-received")
    assert stock_of(saree) == 5
    page.get_by_test_id("nav-logout").click()

    # While staff have not paid it, the buyer sees it on its way.
    login(buyer)
    page.goto(f"/orders/{order.number}/")
    expect(page.get_by_test_id("item-payout")).to_have_text(re.compile(r"Refund to UPI ••••@okaxis: on its way"))

    # 3. Staff pay it from the bank and record the UTR.
    payout = Payout.objects.get(order_item=item)
    payout_mark_paid(payout_id=payout.pk, utr="HDFCN52026120612345", staff=UserFactory(is_staff=True))

    # 4. The buyer sees where the money went.
    page.reload()
    row = page.get_by_test_id("order-item")
    expect(row.get_by_test_id("order-item-status")).to_have_text(OrderItemStatus.RETURNED.label)
    expect(row.get_by_test_id("item-payout")).to_contain_text("Refunded to UPI ••••@okaxis")
    expect(page.get_by_test_id("timeline-entry").last).to_contain_text("Return received → Returned")
    shot("returns-07-buyer-refunded")
