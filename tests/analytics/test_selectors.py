"""The dashboard figures against a hand-built shop (tests/analytics/helpers.py) whose every number
is known: statuses that count and do not, shop days in India time, refunds, and another store."""

from datetime import timedelta
from decimal import Decimal

import pytest

from analytics.selectors import seller_dashboard, shop_analytics, shop_today
from tests.analytics.helpers import build_shop

pytestmark = pytest.mark.django_db

D = Decimal


@pytest.fixture
def shop():
    return build_shop()


def by_day(dashboard_days) -> dict[int, Decimal]:
    """{days ago: revenue} for the days that had any."""
    today = shop_today()
    return {(today - figure.day).days: figure.revenue for figure in dashboard_days if figure.revenue}


class TestSellerDashboard:
    def test_period_figures(self, shop):
        figures = seller_dashboard(store=shop.store).periods
        assert [(p.label, p.revenue, p.orders, p.refunds, p.refunded) for p in figures] == [
            # 09:00 (₹200 placed + ₹250 confirmed) and 00:10 (₹500 delivered); the cancelled one and
            # its FAILED refund do not count, nor does the other store's ₹400 line in the same order.
            ("Today", D("950.00"), 2, 0, D("0.00")),
            # + yesterday 23:59 (₹100), two days ago (₹250 and a ₹100 refund), 00:05 six days ago (₹100)
            ("Last 7 days", D("1400.00"), 5, 1, D("100.00")),
            # + 23:59 seven days ago (₹300); the unpaid online order and the one 30 days ago do not count
            ("Last 30 days", D("1700.00"), 6, 1, D("100.00")),
        ]

    def test_revenue_per_day_uses_india_days(self, shop):
        dashboard = seller_dashboard(store=shop.store)
        assert len(dashboard.revenue_by_day) == 30
        assert dashboard.revenue_by_day[-1].day == shop_today()
        # The 00:10 order is yesterday in UTC but today in India; 23:59 stays on its own day.
        assert by_day(dashboard.revenue_by_day) == {
            0: D("950.00"),
            1: D("100.00"),
            2: D("250.00"),
            6: D("100.00"),
            7: D("300.00"),
        }

    def test_items_waiting_for_the_seller(self, shop):
        dashboard = seller_dashboard(store=shop.store)
        assert (dashboard.to_confirm, dashboard.to_ship, dashboard.on_the_way) == (1, 2, 1)

    def test_low_stock_lists_active_products_at_five_or_fewer_fewest_first(self, shop):
        dashboard = seller_dashboard(store=shop.store)
        assert [(line.name, line.stock) for line in dashboard.low_stock] == [("Shawl", 0), ("Dupatta", 3), ("Stole", 5)]
        assert dashboard.low_stock_count == 3

    def test_top_products_by_revenue(self, shop):
        top = seller_dashboard(store=shop.store).top_products
        assert [(row["product__title"], row["units"], row["revenue"]) for row in top] == [
            ("Cotton kurta", 4, D("1000.00")),
            ("Silk saree", 7, D("700.00")),
        ]

    def test_the_other_store_sees_only_its_own(self, shop):
        dashboard = seller_dashboard(store=shop.other_store)
        assert [(p.revenue, p.orders, p.refunds, p.refunded) for p in dashboard.periods] == [
            (D("400.00"), 1, 0, D("0.00")),
            (D("400.00"), 1, 1, D("80.00")),
            (D("400.00"), 1, 1, D("80.00")),
        ]
        assert (dashboard.to_confirm, dashboard.to_ship) == (1, 0)
        assert [p.title for p in dashboard.low_stock] == ["Someone else's low"]
        assert [row["product__title"] for row in dashboard.top_products] == ["+Brass lamp"]

    def test_a_new_store_has_zeros_not_errors(self, shop):
        from tests.factories import StoreFactory

        dashboard = seller_dashboard(store=StoreFactory())
        assert all(p.revenue == 0 and p.orders == 0 and p.refunds == 0 for p in dashboard.periods)
        assert len(dashboard.revenue_by_day) == 30
        assert dashboard.top_products == [] and dashboard.low_stock == []


class TestShopAnalytics:
    def test_the_last_30_days(self, shop):
        today = shop_today()
        data = shop_analytics(start=today - timedelta(days=29), end=today)
        assert (data.gmv, data.orders) == (D("2100.00"), 6)
        assert data.gmv_by_day[-1].revenue == D("1350.00")  # mine ₹950 and the other store's ₹400
        assert data.payment_split == [
            ("Cash on Delivery", 5, D("1850.00")),
            ("Online (Razorpay)", 1, D("250.00")),
        ]
        assert dict(data.orders_by_status)["Placed"] == 9  # every order placed in the range, sold or not
        refunds = {(today - day.day).days: (day.refunds, day.amount) for day in data.refunds_by_day if day.refunds}
        assert refunds == {2: (1, D("100.00")), 3: (1, D("80.00"))}  # the FAILED one is left out
        # Captured online: ₹100 (refund failed) + ₹350 + ₹80; refunds not failed: ₹100 + ₹80.
        assert (data.captured, data.refunded, data.refund_rate) == (D("530.00"), D("180.00"), D("34.0"))
        assert [(row["seller__name"], row["orders"], row["units"], row["revenue"]) for row in data.top_sellers] == [
            ("Kanchi Looms", 6, 11, D("1700.00")),
            ('=HYPERLINK("http://evil")', 1, 5, D("400.00")),
        ]
        assert [row["product__title"] for row in data.top_products] == ["Cotton kurta", "Silk saree", "+Brass lamp"]

    def test_a_narrow_range_counts_only_its_days(self, shop):
        today = shop_today()
        data = shop_analytics(start=today - timedelta(days=7), end=today - timedelta(days=6))
        assert [figure.revenue for figure in data.gmv_by_day] == [D("300.00"), D("100.00")]
        assert (data.captured, data.refund_rate) == (D("0.00"), None)

    def test_new_users_per_day(self, shop):
        today = shop_today()
        shop.buyer.date_joined = shop.buyer.date_joined - timedelta(days=3)
        shop.buyer.save(update_fields=["date_joined"])
        data = shop_analytics(start=today - timedelta(days=3), end=today)
        assert [count for _day, count in data.new_users_by_day] == [1, 0, 0, 2]  # the two sellers joined today


def test_low_stock_is_counted_per_variant():
    from catalog.services.variants import product_options_set, variant_create, variant_deactivate
    from tests.factories import ProductFactory, StoreFactory

    store = StoreFactory()
    kurta = ProductFactory(store=store, title="Kurta", stock=40)  # plenty in total
    product_options_set(product=kurta, options=[{"name": "Size", "values": ["M", "XL", "XXL"]}])
    variant_create(product=kurta, sku="K-XL", price=Decimal("1.00"), stock=2, option_values=["XL"])
    variant_deactivate(
        variant=variant_create(product=kurta, sku="K-XXL", price=Decimal("1.00"), stock=0, option_values=["XXL"])
    )
    dashboard = seller_dashboard(store=store)
    assert [(line.name, line.stock) for line in dashboard.low_stock] == [("Kurta (Size: XL)", 2)]
    assert dashboard.low_stock_count == 1
