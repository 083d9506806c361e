"""A shopper finds a product and fills the cart; a seller lists a product that shows in the shop."""

from decimal import Decimal

import pytest
from PIL import Image
from playwright.sync_api import expect

from catalog.models import Product
from catalog.services.products import product_create, search_vector_refresh
from tests.factories import CategoryFactory, StoreFactory, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def shop():
    clothing = CategoryFactory(name="Clothing", slug="clothing")
    audio = CategoryFactory(name="Audio", slug="audio")
    store = StoreFactory(name="Kanchi Looms")
    products = [
        ("Kanjivaram silk saree", "Kanchi", "8999.00", clothing, "KS-1", 6),
        ("Handloom cotton saree", "Kanchi", "1299.00", clothing, "KS-2", 3),
        ("Banarasi silk saree", "Varanasi Weaves", "6499.00", clothing, "VW-1", 2),
        ("Wireless earbuds", "boAt", "1499.00", audio, "BA-1", 20),
    ]
    for title, brand, price, category, sku, stock in products:
        product_create(
            store=store, title=title, brand=brand, price=Decimal(price), category=category, sku=sku, stock=stock
        )
    search_vector_refresh(Product.objects.all())


def test_shopper_searches_filters_opens_a_product_and_fills_the_cart(page, login, shot, shop):
    login(UserFactory(first_name="Meera", last_name=""))

    page.goto("/")
    page.get_by_label("Search").fill("saree")
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_test_id("result-count")).to_contain_text("3 products")

    page.get_by_label("Brand").select_option("Kanchi")
    page.get_by_label("Sort by").select_option("-price")
    page.get_by_role("button", name="Apply").click()
    titles = page.get_by_test_id("product-card").locator(".product-title")
    expect(titles).to_have_text(["Kanjivaram silk saree", "Handloom cotton saree"])
    shot("shop-01-search-and-filter")

    titles.first.click()
    expect(page.get_by_test_id("product-title")).to_have_text("Kanjivaram silk saree")
    expect(page.get_by_test_id("product-price")).to_have_text("₹8,999.00")
    page.get_by_label("Quantity").select_option("2")
    page.get_by_test_id("add-to-cart").click()
    expect(page.get_by_test_id("nav-cart-count")).to_have_text("2")
    shot("shop-02-added-to-cart")

    page.get_by_test_id("nav-cart").click()
    line = page.get_by_test_id("cart-line")
    expect(line).to_have_count(1)
    expect(page.get_by_test_id("cart-subtotal")).to_have_text("₹17,998.00")
    line.locator("input[name=quantity]").fill("3")
    line.get_by_role("button", name="Update").click()
    expect(page.get_by_test_id("cart-subtotal")).to_have_text("₹26,997.00")
    expect(page.get_by_test_id("nav-cart-count")).to_have_text("3")
    shot("shop-03-cart")


def _png_file(tmp_path) -> str:
    path = tmp_path / "tabla.png"
    Image.new("RGB", (640, 480), (180, 90, 30)).save(path, format="PNG")
    return str(path)


def test_seller_creates_a_product_with_an_image_and_sees_it_in_the_shop(page, login, shot, tmp_path):
    CategoryFactory(name="Music", slug="music")
    seller = StoreFactory(name="Taal Instruments").user
    login(seller)

    page.goto("/seller/products/new/")
    page.get_by_label("Title").fill("Hand-made tabla set")
    page.get_by_label("Category").select_option(label="Music")
    page.get_by_label("Brand").fill("Taal")
    page.get_by_label("SKU").fill("TAAL-TB-01")
    page.get_by_label("Price (₹)").fill("7499.00")
    page.get_by_label("Opening stock").fill("4")
    page.locator("input[type=file]").set_input_files(_png_file(tmp_path))
    page.get_by_role("button", name="Save product").click()
    expect(page.locator(".messages")).to_contain_text("is saved")
    shot("seller-01-product-created")

    page.goto("/?search=tabla")
    card = page.get_by_test_id("product-card")
    expect(card).to_have_count(1)
    expect(card.locator("img")).to_have_count(1)
    card.locator(".product-title").click()
    expect(page.get_by_test_id("product-title")).to_have_text("Hand-made tabla set")
    expect(page.get_by_test_id("buy-box")).to_contain_text("This is your product")
    shot("seller-02-product-in-shop")
