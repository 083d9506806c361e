"""Returns on the seller dashboard and the admin analytics: how many items a return was asked for, and their
share of the delivered items, both on the day the order was placed; an item received back stops being a sale."""

from datetime import timedelta
from decimal import Decimal

import pytest

from analytics.selectors import seller_dashboard, shop_analytics, shop_today
from orders.models import OrderItemStatus
from tests.analytics.helpers import at, place
from tests.analytics.test_views import html_of, login, text_of
from tests.factories import ProductFactory, StoreFactory, UserFactory

pytestmark = pytest.mark.django_db

D = Decimal
S = OrderItemStatus


@pytest.fixture
def shop():
    store, other = StoreFactory(), StoreFactory()
    buyer = UserFactory()
    a = ProductFactory(store=store, price=D("100.00"))
    b = ProductFactory(store=store, price=D("250.00"))
    x = ProductFactory(store=other, price=D("80.00"))
    # Today: one kept, one asked back, and the other store's approved return.
    place(buyer, [(a, 1, S.DELIVERED), (b, 1, S.RETURN_REQUESTED), (x, 1, S.RETURN_APPROVED)], placed_at=at(0, 10))
    # Three days ago: one returned and refunded, two units refused, one still on its way, one cancelled.
    place(buyer, [(a, 1, S.RETURNED), (a, 2, S.RETURN_REJECTED), (b, 1, S.SHIPPED)], placed_at=at(3, 9))
    place(buyer, [(b, 1, S.CANCELLED)], placed_at=at(3, 11))
    # Ten days ago: one received back and waiting for its refund, one kept; an escalated one.
    place(buyer, [(a, 1, S.RETURN_RECEIVED), (b, 1, S.DELIVERED), (b, 1, S.RETURN_ESCALATED)], placed_at=at(10, 12))
    # Before the 30 days: not counted.
    place(buyer, [(a, 1, S.RETURNED)], placed_at=at(31, 12))
    return store, other


def test_the_seller_dashboard_counts_returns_and_their_rate_per_period(shop):
    store, _other = shop
    periods = seller_dashboard(store=store).periods
    assert [(p.label, p.returns, p.delivered, p.return_rate) for p in periods] == [
        ("Today", 1, 2, D("50.0")),
        ("Last 7 days", 3, 4, D("75.0")),  # the shipped item is not delivered yet; the cancelled one never was
        ("Last 30 days", 5, 7, D("71.4")),
    ]


def test_an_item_is_a_sale_until_it_is_received_back(shop):
    store, _other = shop
    periods = seller_dashboard(store=store).periods
    # Asked back (₹250), refused (₹200) and escalated (₹250) still count; received and returned do not.
    assert [p.revenue for p in periods] == [D("350.00"), D("800.00"), D("1300.00")]


def test_the_dashboard_shows_returns_waiting_for_the_seller(shop):
    store, other = shop
    dashboard = seller_dashboard(store=store)
    assert (dashboard.returns_to_answer, dashboard.returns_to_receive) == (1, 0)
    assert seller_dashboard(store=other).returns_to_receive == 1


def test_no_deliveries_is_no_rate_not_an_error():
    periods = seller_dashboard(store=StoreFactory()).periods
    assert all(p.returns == 0 and p.return_rate is None for p in periods)


def test_the_admin_analytics_count_every_store(shop):
    today = shop_today()
    data = shop_analytics(start=today - timedelta(days=29), end=today)
    assert (data.returns, data.delivered, data.return_rate) == (6, 8, D("75.0"))
    narrow = shop_analytics(start=today - timedelta(days=3), end=today - timedelta(days=3))
    assert (narrow.returns, narrow.delivered, narrow.return_rate) == (2, 2, D("100.0"))
    empty = shop_analytics(start=today - timedelta(days=2), end=today - timedelta(days=1))
    assert (empty.returns, empty.return_rate) == (0, None)


def test_the_pages_show_them(client, shop, staff):
    store, _other = shop
    html = html_of(login(client, store.user).get("/seller/"))
    assert text_of(html, "returns", within="figures-7").startswith("3 ·")
    assert text_of(html, "return-rate", within="figures-7") == "75.0%"
    assert text_of(html, "returns-to-answer").startswith("Returns to answer")
    client.force_login(staff)
    html = html_of(client.get("/admin/analytics/"))
    assert text_of(html, "returns", within="analytics-summary") == "6"
    assert text_of(html, "return-rate", within="analytics-summary") == "75.0%"
