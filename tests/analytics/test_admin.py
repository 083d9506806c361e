"""The admin analytics page (/admin/analytics/): staff only, a date range, charts, CSV exports."""

import csv
import io
import re
from datetime import timedelta

import pytest

from analytics.selectors import shop_today
from orders.models import OrderItemStatus
from tests.analytics.helpers import at, build_shop, place
from tests.factories import TEST_PASSWORD, ProductFactory, StoreFactory, UserFactory

pytestmark = pytest.mark.django_db

URL = "/admin/analytics/"
CHARTS = ("gmv", "status", "payment", "refunds", "users")


@pytest.fixture
def shop():
    return build_shop()


@pytest.fixture
def staff_client(client, staff):
    client.force_login(staff)
    return client


def csv_rows(response) -> list[list[str]]:
    assert response.status_code == 200, response.status_code
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    return list(csv.reader(io.StringIO(response.content.decode())))


class TestWhoMaySee:
    def test_the_admin_index_links_to_analytics(self, staff_client):
        html = staff_client.get("/admin/").content.decode()
        assert f'href="{URL}" data-testid="analytics-link"' in html

    def test_anonymous_visitors_go_to_the_admin_login(self, client):
        response = client.get(URL)
        assert response.status_code == 302
        assert response["Location"] == f"/admin/login/?next={URL}"

    @pytest.mark.parametrize("role", ["shopper", "seller"])
    def test_shoppers_and_sellers_go_to_the_admin_login(self, client, role):
        user = StoreFactory().user if role == "seller" else UserFactory()
        response = client.post("/accounts/login/", {"username": user.username, "password": TEST_PASSWORD})
        assert response.status_code == 302
        for path in (URL, f"{URL}?export=sellers"):
            response = client.get(path)
            assert response.status_code == 302
            assert response["Location"].startswith("/admin/login/?next=")
        client.force_login(user)  # a Django session too: still not staff
        assert client.get(f"{URL}?export=sellers").status_code == 302

    def test_blocked_staff_are_refused(self, client, staff):
        staff.is_blocked = True
        staff.save(update_fields=["is_blocked"])
        client.force_login(staff)
        assert client.get(URL).status_code == 302


class TestPage:
    def test_default_range_is_the_last_30_days(self, staff_client, shop):
        response = staff_client.get(URL)
        html = response.content.decode()
        assert response.status_code == 200
        data = response.context["data"]
        assert (data.start, data.end) == (shop_today() - timedelta(days=29), shop_today())
        assert re.search(r'data-testid="gmv-total">₹2,100.00<', html)
        assert re.search(r'data-testid="refund-rate">34.0%<', html)

    def test_draws_every_chart_with_its_table_and_export_link(self, staff_client, shop):
        html = staff_client.get(URL).content.decode()
        for slug in CHARTS:
            assert f'data-testid="chart-{slug}"' in html
            assert f'aria-labelledby="{slug}-title {slug}-desc"' in html
        for slug in (*CHARTS, "sellers", "products"):
            assert f'&amp;export={slug}" data-testid="export-{slug}"' in html
        assert "style=" not in html.split('id="content-main"', 1)[1]  # the CSP forbids inline styles
        # Store and product names are escaped.
        assert "=HYPERLINK(&quot;http://evil&quot;)" in html

    def test_a_chosen_range(self, staff_client, shop):
        start, end = shop_today() - timedelta(days=7), shop_today() - timedelta(days=6)
        response = staff_client.get(URL, {"start": start.isoformat(), "end": end.isoformat()})
        assert response.status_code == 200
        assert [figure.revenue for figure in response.context["data"].gmv_by_day] == [300, 100]

    @pytest.mark.parametrize(
        ("params", "message"),
        [
            ({"start": "2026-02-30"}, "Enter a valid date."),
            ({"start": "yesterday"}, "Enter a valid date."),
            ({"start": "2025-03-01", "end": "2025-02-01"}, "The start date must not be after the end date."),
            ({"start": "2020-01-01", "end": "2025-01-01"}, "Choose at most 366 days."),
            ({"end": "9999-12-31"}, "The end date cannot be in the future."),
            ({"start": "0001-01-01", "end": "0001-01-02"}, "Choose dates from 1 January 2000 on."),
        ],
    )
    def test_a_bad_range_is_a_form_error_not_a_crash(self, staff_client, params, message):
        response = staff_client.get(URL, params)
        assert response.status_code == 400
        assert response.context["form"].errors
        if message:
            assert message in response.content.decode()
        assert staff_client.get(URL, {**params, "export": "gmv"}).status_code == 400

    def test_a_range_of_366_days_is_allowed(self, staff_client):
        end = shop_today()
        response = staff_client.get(URL, {"start": (end - timedelta(days=365)).isoformat(), "end": end.isoformat()})
        assert response.status_code == 200

    def test_query_count_does_not_grow_with_orders(self, staff_client, shop, assert_flat_query_count):
        def more() -> None:
            for days_ago in range(20):
                seller = StoreFactory()
                product = ProductFactory(store=seller)
                UserFactory()
                place(shop.buyer, [(product, 1, OrderItemStatus.SHIPPED)], placed_at=at(days_ago, 10))

        assert_flat_query_count(lambda: staff_client.get(URL), more, max_queries=11)


class TestCsvExport:
    def test_each_table_exports_with_the_range_in_its_name(self, staff_client, shop):
        today = shop_today()
        response = staff_client.get(URL, {"export": "gmv"})
        rows = csv_rows(response)
        start = today - timedelta(days=29)
        assert response["Content-Disposition"] == f'attachment; filename="joycart-gmv-{start}-to-{today}.csv"'
        assert rows[0] == ["Day", "Orders", "GMV (INR)"]
        assert len(rows) == 31
        assert rows[-1] == [today.isoformat(), "2", "1350.00"]
        for slug in CHARTS:
            assert len(csv_rows(staff_client.get(URL, {"export": slug}))) > 1

    def test_sellers_and_products(self, staff_client, shop):
        assert csv_rows(staff_client.get(URL, {"export": "sellers"})) == [
            ["Store", "Orders", "Units", "Revenue (INR)"],
            ["Kanchi Looms", "6", "11", "1700.00"],
            # A spreadsheet would run this name as a formula: the apostrophe keeps it text.
            ['\'=HYPERLINK("http://evil")', "1", "5", "400.00"],
        ]
        products = csv_rows(staff_client.get(URL, {"export": "products"}))
        assert products[-1] == ["'+Brass lamp", '\'=HYPERLINK("http://evil")', "5", "400.00"]

    def test_refunds_and_payment_split(self, staff_client, shop):
        refunds = csv_rows(staff_client.get(URL, {"export": "refunds"}))
        two_days_ago = (shop_today() - timedelta(days=2)).isoformat()
        assert [two_days_ago, "1", "100.00"] in refunds
        assert csv_rows(staff_client.get(URL, {"export": "payment"}))[1:] == [
            ["Cash on Delivery", "5", "1850.00"],
            ["Online (Razorpay)", "1", "250.00"],
        ]

    def test_an_unknown_export_is_a_400(self, staff_client):
        response = staff_client.get(URL, {"export": "passwords"})
        assert response.status_code == 400
        assert "There is no table named" in response.content.decode()
