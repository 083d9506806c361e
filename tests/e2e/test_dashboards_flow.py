"""The seller dashboard and the admin analytics in the browser: the charts draw, the links work,
the date range filters, and the Content-Security-Policy has nothing to complain about."""

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from analytics.selectors import shop_today
from tests.analytics.helpers import build_shop
from tests.factories import TEST_PASSWORD, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def csp_violations(page) -> list[str]:
    found: list[str] = []
    page.on("console", lambda msg: "Content Security Policy" in msg.text and found.append(msg.text))
    return found


def test_a_seller_sees_their_figures_and_the_revenue_chart(page, login, shot):
    shop = build_shop()
    violations = csp_violations(page)
    login(shop.store.user)
    page.get_by_test_id("nav-seller").click()

    figures = page.get_by_test_id("figures-30")
    expect(figures.get_by_test_id("revenue")).to_have_text("₹1,700.00")
    chart = page.get_by_test_id("chart-revenue")
    expect(chart).to_be_visible()
    expect(chart.locator("rect.chart-bar")).to_have_count(30)
    box = chart.bounding_box()
    assert box["width"] > 400 and box["height"] > 100, box  # drawn at a readable size, not collapsed
    # The tallest bar is today's ₹950, and its tooltip says so.
    expect(chart.locator("rect.chart-bar title").last).to_have_text(f"{shop_today().day} {shop_today():%b}: ₹950.00")
    expect(page.get_by_test_id("low-stock-product")).to_have_count(3)
    shot("dashboards-01-seller")

    page.get_by_test_id("to-ship").click()
    expect(page).to_have_url(re.compile(r"/seller/orders/\?status=CONFIRMED$"))
    assert violations == []


def test_staff_open_the_analytics_and_narrow_the_range(page, shot):
    build_shop()
    staff = UserFactory(username="boss", is_staff=True, is_superuser=True)
    violations = csp_violations(page)
    page.goto("/admin/login/")
    page.fill("input[name=username]", staff.username)
    page.fill("input[name=password]", TEST_PASSWORD)
    page.click("input[type=submit]")

    page.get_by_test_id("analytics-link").click()
    expect(page.get_by_test_id("gmv-total")).to_have_text("₹2,100.00")
    for slug in ("gmv", "status", "payment", "refunds", "users"):
        expect(page.get_by_test_id(f"chart-{slug}")).to_be_visible()
    expect(page.get_by_test_id("table-sellers")).to_contain_text("Kanchi Looms")
    shot("dashboards-02-analytics")

    week_ago = shop_today() - timedelta(days=7)
    page.fill("input[name=start]", week_ago.isoformat())
    page.fill("input[name=end]", week_ago.isoformat())
    page.click("input[value=Show]")
    expect(page.get_by_test_id("gmv-total")).to_have_text("₹300.00")
    with page.expect_download() as download:
        page.get_by_test_id("export-sellers").click()
    assert download.value.suggested_filename == f"joycart-sellers-{week_ago}-to-{week_ago}.csv"

    page.fill("input[name=start]", shop_today().isoformat())
    page.fill("input[name=end]", week_ago.isoformat())
    page.click("input[value=Show]")
    expect(page.get_by_test_id("range-error")).to_have_text("The start date must not be after the end date.")
    shot("dashboards-03-analytics-bad-range")
    assert violations == []
