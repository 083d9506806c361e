"""The Content-Security-Policy must not break any page: the browser reports every violation."""

import pytest

from tests.factories import TEST_PASSWORD, AddressFactory, StoreFactory, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def violations_on(page, paths: list[str]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    current = {"path": ""}
    page.on(
        "console",
        lambda msg: "Content Security Policy" in msg.text and found.setdefault(current["path"], []).append(msg.text),
    )
    for path in paths:
        current["path"] = path
        response = page.goto(path)
        assert response.status < 400, f"{path} answered {response.status}"
        page.wait_for_load_state("networkidle")
    return found


def test_shop_pages_load_without_csp_violations(page, login):
    seller = StoreFactory().user
    AddressFactory(user=seller, is_default=True)
    login(seller)
    paths = [
        "/", "/accounts/profile/", "/accounts/addresses/", "/accounts/addresses/new/", "/seller/", "/seller/orders/",
        "/checkout/", "/orders/", "/api/v1/docs/",
    ]  # fmt: skip
    assert violations_on(page, paths) == {}
    assert page.locator(".swagger-ui").first.is_visible()


def test_admin_pages_load_without_csp_violations(page):
    admin = UserFactory(username="boss", is_staff=True, is_superuser=True)
    page.goto("/admin/login/")
    page.fill("input[name=username]", admin.username)
    page.fill("input[name=password]", TEST_PASSWORD)
    page.click("input[type=submit]")
    paths = [
        "/admin/", "/admin/accounts/user/", f"/admin/accounts/user/{admin.pk}/change/", "/admin/accounts/store/",
        "/admin/orders/order/", "/admin/payments/payment/", "/admin/analytics/",
    ]  # fmt: skip
    assert violations_on(page, paths) == {}
