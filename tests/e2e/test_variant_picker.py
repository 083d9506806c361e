"""The product page's option picker, in a browser: in place with JavaScript, under the CSP."""

import re

import pytest
from playwright.sync_api import expect

from tests.catalog.variant_helpers import kurta, variant

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_picking_options_updates_the_price_stock_cart_form_and_url_in_place(page):
    product = kurta()
    large_red, medium_blue = variant(product, "L", "Red"), variant(product, "M", "Blue")
    csp_violations = []
    page.on("console", lambda msg: "Content Security Policy" in msg.text and csp_violations.append(msg.text))
    page.goto("/products/kurta/")
    expect(page.get_by_test_id("product-price")).to_have_text("₹899.00")
    expect(page.get_by_role("button", name="Show this option")).to_be_hidden()  # the script took over

    page.get_by_label("Size").select_option("L")
    expect(page.get_by_test_id("stock-status")).to_contain_text("not available")
    expect(page.get_by_test_id("add-to-cart")).to_be_hidden()

    page.get_by_label("Colour").select_option("Red")
    expect(page.get_by_test_id("product-price")).to_have_text("₹1,299.00")
    expect(page.get_by_test_id("stock-status")).to_have_text("Only 2 left")
    expect(page.locator("input[name=variant_id]")).to_have_value(str(large_red.pk))
    expect(page).to_have_url(re.compile(rf"/products/kurta/\?variant={large_red.pk}$"))
    expect(page.get_by_test_id("add-to-cart")).to_be_visible()
    assert page.locator("#quantity option").count() == 2

    page.get_by_label("Size").select_option("M")
    page.get_by_label("Colour").select_option("Blue")
    expect(page.get_by_test_id("stock-status")).to_have_text("Out of stock")
    expect(page.get_by_test_id("add-to-cart")).to_be_hidden()
    expect(page).to_have_url(re.compile(rf"/products/kurta/\?variant={medium_blue.pk}$"))

    page.reload()  # the URL is the variant's own
    expect(page.get_by_test_id("product-price")).to_have_text("₹949.00")
    assert csp_violations == []


def test_without_javascript_the_form_reloads_the_chosen_variant(browser, live_server):
    product = kurta()
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto("/products/kurta/")
        page.get_by_label("Size").select_option("L")
        page.get_by_label("Colour").select_option("Red")
        page.get_by_role("button", name="Show this option").click()
        expect(page).to_have_url(re.compile(rf"/products/kurta/\?variant={variant(product, 'L', 'Red').pk}$"))
        expect(page.get_by_test_id("product-price")).to_have_text("₹1,299.00")
    finally:
        context.close()
