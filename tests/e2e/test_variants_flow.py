"""A product with sizes and colours, end to end: the seller's variants, the shopper's picker, cart,
checkout and order, then the seller's order list naming the variant sold."""

import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from catalog.services.products import product_create
from catalog.services.variants import product_options_set, variant_create
from orders.models import Order
from tests.factories import AddressFactory, CategoryFactory, StoreFactory, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def cotton_kurta():
    """Size M or L, in Blue or Red. L costs more, and (L, Blue) is sold out."""
    store = StoreFactory(name="Jaipur Prints")
    product = product_create(
        store=store, title="Cotton kurta", category=CategoryFactory(name="Clothing", slug="clothing"),
        sku="CK-M-BLUE", price=Decimal("799.00"), stock=10,
    )  # fmt: skip
    # The product's one variant takes the first value of each option: (M, Blue).
    product_options_set(
        product=product, options=[{"name": "Size", "values": ["M", "L"]}, {"name": "Colour", "values": ["Blue", "Red"]}]
    )
    variants = {("M", "Blue"): product.variants.get()}
    for size, colour, sku, price, stock in [
        ("M", "Red", "CK-M-RED", "799.00", 8),
        ("L", "Blue", "CK-L-BLUE", "949.00", 0),
        ("L", "Red", "CK-L-RED", "949.00", 5),
    ]:
        variants[(size, colour)] = variant_create(
            product=product, sku=sku, price=Decimal(price), stock=stock, option_values=[size, colour]
        )
    product.refresh_from_db()
    return product, variants


def test_a_shopper_buys_two_variants_and_the_seller_sees_which(page, login, shot, cotton_kurta):
    product, variants = cotton_kurta
    large_red, medium_blue = variants[("L", "Red")], variants[("M", "Blue")]
    buyer = UserFactory(first_name="Asha", last_name="Menon")
    AddressFactory(user=buyer, name="Asha Menon", line1="4 Lake View", city="Kochi", state="KL", pincode="682001",
                   is_default=True)  # fmt: skip
    login(buyer)

    # 1. The product page opens on the cheapest variant in stock.
    page.goto(f"/products/{product.slug}/")
    expect(page.get_by_test_id("product-price")).to_have_text("₹799.00")
    size, colour = page.get_by_label("Size"), page.get_by_label("Colour")
    expect(size).to_have_value("M")
    expect(colour).to_have_value("Blue")
    shot("variants-01-product-page")

    # 2. (L, Blue) is sold out: the picker says so and the page offers no way to add it.
    size.select_option("L")
    expect(page.get_by_test_id("product-price")).to_have_text("₹949.00")
    expect(colour.locator("option[value=Blue]")).to_have_text("Blue (sold out)")
    expect(page.get_by_test_id("stock-status")).to_have_text("Out of stock")
    expect(page.get_by_test_id("add-to-cart")).to_be_hidden()
    expect(page.get_by_text("Not available in this option.")).to_be_visible()
    expect(page).to_have_url(re.compile(rf"\?variant={variants[('L', 'Blue')].pk}$"))
    shot("variants-02-sold-out-combination")
    # Even a form forced back into view is refused by the server.
    page.locator("[data-buy-form]").evaluate("form => { form.hidden = false; }")
    page.get_by_test_id("add-to-cart").click()
    expect(page.locator(".messages")).to_have_text("Cotton kurta (L, Blue) is out of stock.")
    expect(page.get_by_test_id("nav-cart-count")).to_have_text("0")

    # 3. (L, Red): the price changes in place, and one goes into the cart.
    page.get_by_label("Colour").select_option("Red")
    expect(page.get_by_test_id("product-price")).to_have_text("₹949.00")
    expect(page.get_by_test_id("stock-status")).to_have_text("Only 5 left")
    expect(page.locator("input[name=variant_id]")).to_have_value(str(large_red.pk))
    page.get_by_label("Quantity").select_option("1")
    page.get_by_test_id("add-to-cart").click()
    expect(page.locator(".messages")).to_contain_text("Added 1 of Cotton kurta (L, Red)")
    expect(page).to_have_url(re.compile(rf"\?variant={large_red.pk}$"))  # back on the variant added

    # 4. Then (M, Blue), at the lower price.
    page.get_by_label("Size").select_option("M")
    page.get_by_label("Colour").select_option("Blue")
    expect(page.get_by_test_id("product-price")).to_have_text("₹799.00")
    expect(page.locator("input[name=variant_id]")).to_have_value(str(medium_blue.pk))
    shot("variants-03-picked-medium-blue")
    page.get_by_test_id("add-to-cart").click()
    expect(page.locator(".messages")).to_contain_text("Added 1 of Cotton kurta (M, Blue)")
    expect(page.get_by_test_id("nav-cart-count")).to_have_text("2")

    # 5. The cart has two lines of the one product, each with its options and price.
    page.get_by_test_id("nav-cart").click()
    lines = page.get_by_test_id("cart-line")
    expect(lines).to_have_count(2)
    expect(lines.get_by_test_id("cart-line-title")).to_have_text(["Cotton kurta", "Cotton kurta"])
    large_line = lines.filter(has_text="Size: L, Colour: Red")
    medium_line = lines.filter(has_text="Size: M, Colour: Blue")
    expect(large_line.get_by_test_id("cart-line-unit-price")).to_have_text("₹949.00")
    expect(medium_line.get_by_test_id("cart-line-unit-price")).to_have_text("₹799.00")
    expect(page.get_by_test_id("cart-subtotal")).to_have_text("₹1,748.00")
    # Each line leads back to its own variant, not to the product's default one.
    expect(large_line.get_by_test_id("cart-line-title")).to_have_attribute(
        "href", re.compile(rf"/products/{product.slug}/\?variant={large_red.pk}$")
    )
    shot("variants-04-cart")

    # 6. Checkout with cash on delivery to the saved address.
    page.get_by_test_id("checkout-button").click()
    expect(page.get_by_test_id("address-choice").locator("input")).to_be_checked()
    checkout_lines = page.get_by_test_id("checkout-line")
    expect(checkout_lines).to_have_count(2)
    expect(checkout_lines.filter(has_text="Size: L, Colour: Red").get_by_test_id("checkout-line-total")).to_have_text(
        "₹949.00"
    )
    expect(checkout_lines.filter(has_text="Size: M, Colour: Blue").get_by_test_id("checkout-line-total")).to_have_text(
        "₹799.00"
    )
    expect(page.get_by_test_id("checkout-total")).to_have_text("₹1,748.00")
    expect(page.get_by_label("Cash on Delivery")).to_be_checked()
    shot("variants-05-checkout")
    page.get_by_test_id("place-order").click()

    # 7. The order names each item's options.
    order = Order.objects.get(buyer=buyer)
    expect(page).to_have_url(re.compile(rf"/orders/{order.number}/$"))
    items = page.get_by_test_id("order-item")
    expect(items).to_have_count(2)
    expect(items.filter(has_text="Size: L, Colour: Red")).to_contain_text("₹949.00")
    expect(items.filter(has_text="Size: M, Colour: Blue")).to_contain_text("₹799.00")
    expect(page.get_by_test_id("payment-due")).to_have_text("₹1,748.00")
    shot("variants-06-order-placed")
    page.get_by_test_id("nav-logout").click()

    # 8. The seller's order list names the variant of each item: options and SKU.
    login(product.store.user)
    page.get_by_test_id("nav-seller").click()
    page.get_by_test_id("portal-orders").click()
    rows = page.get_by_test_id("seller-order-item")
    expect(rows).to_have_count(2)
    large_row = rows.filter(has_text="Size: L, Colour: Red")
    expect(large_row.get_by_test_id("seller-order-item-options")).to_have_text("Size: L, Colour: Red")
    expect(large_row).to_contain_text("SKU CK-L-RED")
    expect(large_row.get_by_test_id("seller-item-amount")).to_have_text("₹949.00")
    medium_row = rows.filter(has_text="Size: M, Colour: Blue")
    expect(medium_row.get_by_test_id("seller-order-item-options")).to_have_text("Size: M, Colour: Blue")
    expect(medium_row).to_contain_text("SKU CK-M-BLUE")
    expect(medium_row.get_by_test_id("seller-item-amount")).to_have_text("₹799.00")
    shot("variants-07-seller-orders")
