"""The seller dashboard page (/seller/): who may see it, what it shows, and its query count."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest

from orders.models import OrderItemStatus
from tests.analytics.helpers import at, build_shop, place
from tests.factories import TEST_PASSWORD, ProductFactory, UserFactory

pytestmark = pytest.mark.django_db


def login(client, user):
    response = client.post("/accounts/login/", {"username": user.username, "password": TEST_PASSWORD})
    assert response.status_code == 302
    return client


def html_of(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def text_of(html: str, testid: str, within: str | None = None) -> str:
    if within is not None:
        html = html.split(f'data-testid="{within}"', 1)[1]
    match = re.search(rf'data-testid="{testid}"[^>]*>(.*?)</', html, re.S)
    assert match, f"no {testid}"
    return match.group(1).strip()


@pytest.fixture
def shop():
    return build_shop()


class TestSellerDashboardPage:
    def test_shows_the_stores_figures(self, client, shop):
        html = html_of(login(client, shop.store.user).get("/seller/"))
        assert text_of(html, "revenue", within="figures-1") == "₹950.00"
        assert text_of(html, "orders", within="figures-7") == "5"
        assert text_of(html, "revenue", within="figures-30") == "₹1,700.00"
        assert text_of(html, "refunds", within="figures-30") == "1 · ₹100.00"
        assert 'href="/seller/orders/?status=PLACED" data-testid="to-confirm">To confirm <span class="badge">1<' in html
        assert 'href="/seller/orders/?status=CONFIRMED" data-testid="to-ship">To ship <span class="badge">2<' in html
        assert html.count('data-testid="low-stock-product"') == 3
        assert "Sold out" in html
        assert html.count('data-testid="top-product"') == 2

    def test_draws_the_revenue_chart_as_accessible_inline_svg(self, client, shop):
        html = html_of(login(client, shop.store.user).get("/seller/"))
        svg = re.search(r"<svg .*?</svg>", html, re.S).group(0)
        assert 'role="img"' in svg and 'aria-labelledby="revenue-title revenue-desc"' in svg
        assert '<title id="revenue-title">Revenue per day, last 30 days</title>' in svg
        assert "total ₹1,700.00" in svg  # the description a screen reader reads
        assert svg.count('<rect class="chart-bar"') == 30
        assert "style=" not in svg  # the CSP forbids inline styles
        assert "<script" not in html.split("<main", 1)[1]

    def test_never_shows_another_stores_sales(self, client, shop):
        html = html_of(login(client, shop.other_store.user).get("/seller/"))
        assert text_of(html, "revenue", within="figures-30") == "₹400.00"
        assert "Silk saree" not in html and "Cotton kurta" not in html
        assert "+Brass lamp" in html

    def test_escapes_product_titles(self, client, shop):
        ProductFactory(store=shop.store, title="<script>alert(1)</script>", stock=1)
        html = html_of(login(client, shop.store.user).get("/seller/"))
        assert "<script>alert(1)</script>" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html

    def test_a_new_store_gets_an_empty_dashboard_that_says_what_to_do(self, client, seller):
        html = html_of(login(client, seller).get("/seller/"))
        assert text_of(html, "revenue", within="figures-30") == "₹0.00"
        assert "No sales in the last 30 days yet" in html
        assert 'data-testid="chart-revenue-empty"' in html

    def test_non_sellers_are_sent_to_open_a_store(self, client, user):
        response = login(client, user).get("/seller/")
        assert response.status_code == 302
        assert response["Location"] == "/accounts/become-a-seller/"

    def test_anonymous_visitors_are_sent_to_log_in(self, client):
        response = client.get("/seller/")
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")

    def test_query_count_does_not_grow_with_orders_or_products(self, client, shop, assert_flat_query_count):
        login(client, shop.store.user)

        def more() -> None:
            for days_ago in range(20):
                product = ProductFactory(store=shop.store, stock=days_ago % 7)
                place(shop.buyer, [(product, 2, OrderItemStatus.DELIVERED)], placed_at=at(days_ago, 14))

        assert_flat_query_count(lambda: client.get("/seller/"), more, max_queries=10)


def test_staff_without_a_store_are_not_sellers(client):
    staff = UserFactory(is_staff=True)
    response = login(client, staff).get("/seller/")
    assert response.status_code == 302


def test_days_are_counted_back_from_today(shop):
    # Guards the fixture itself: "at(0, ...)" must be today in India.
    from analytics.selectors import shop_today

    assert at(0, 0, 10).date() == shop_today()
    assert at(1, 23, 59).date() == shop_today() - timedelta(days=1)


def test_a_low_variant_is_named_with_its_options(client):
    from catalog.services.variants import product_options_set, variant_create
    from tests.factories import StoreFactory

    store = StoreFactory()
    kurta = ProductFactory(store=store, title="Kurta", stock=40)
    product_options_set(product=kurta, options=[{"name": "Size", "values": ["M", "XL"]}])
    variant_create(product=kurta, sku="K-XL", price=Decimal("1.00"), stock=2, option_values=["XL"])
    html = html_of(login(client, store.user).get("/seller/"))
    assert re.search(r"Kurta \(Size: XL\)</a> &mdash;\s*<span class=\"badge badge-warning\">2 left", html)
