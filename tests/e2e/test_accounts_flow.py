"""A shopper's first visit, in a real browser: register, log out and in, open a store."""

import re

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from tests.factories import TEST_PASSWORD

pytestmark = pytest.mark.e2e

STORE_NAME = "Asha's Pottery"


def _auth_cookies(page) -> dict:
    return {
        cookie["name"]: cookie for cookie in page.context.cookies() if cookie["name"] in {"jc_access", "jc_refresh"}
    }


def _log_out(page) -> None:
    page.get_by_test_id("nav-logout").click()
    expect(page.get_by_test_id("nav-user")).to_have_count(0)
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Log in")).to_be_visible()


def test_register_log_out_log_in_and_become_a_seller(page, live_server, login, shot):
    page.goto("/accounts/register/")
    form = page.locator("main form")
    form.locator("input[name=username]").fill("asha")
    form.locator("input[name=email]").fill("asha@example.com")
    form.locator("input[name=password1]").fill(TEST_PASSWORD)
    form.locator("input[name=password2]").fill(TEST_PASSWORD)
    form.locator("[type=submit]").click()

    expect(page).to_have_url(f"{live_server.url}/")
    expect(page.get_by_test_id("nav-user")).to_have_text("asha")
    cookies = _auth_cookies(page)
    assert set(cookies) == {"jc_access", "jc_refresh"}
    assert all(cookie["httpOnly"] for cookie in cookies.values()), "JavaScript must not read the JWT cookies"
    shot("accounts-01-registered")

    _log_out(page)
    assert _auth_cookies(page) == {}

    login(get_user_model().objects.get(username="asha"))
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_test_id("nav-seller")).to_have_count(0)

    nav.get_by_role("link", name="Sell on JoyCart").click()
    expect(page).to_have_url(f"{live_server.url}/accounts/become-a-seller/")
    form = page.locator("main form")
    form.locator("[name=name]").fill(STORE_NAME)
    form.locator("[name=description]").fill("Hand-thrown mugs and bowls from Khurja.")
    shot("accounts-02-become-a-seller")
    form.locator("[type=submit]").click()

    expect(page).to_have_url(f"{live_server.url}/seller/")
    expect(page.get_by_test_id("seller-home")).to_contain_text(STORE_NAME)
    expect(nav.get_by_test_id("nav-seller")).to_be_visible()
    expect(nav.get_by_role("link", name="Sell on JoyCart")).to_have_count(0)
    shot("accounts-03-seller-home")

    _log_out(page)
    page.goto("/seller/")
    expect(page).to_have_url(
        re.compile(re.escape(f"{live_server.url}/accounts/login/") + r"\?next=(/|%2F)seller(/|%2F)$")
    )
    expect(page.get_by_test_id("seller-home")).to_have_count(0)


def test_wrong_password_shows_an_error_and_stays_logged_out(page, live_server, user):
    page.goto("/accounts/login/")
    form = page.locator("main form")
    form.locator("input[name=username]").fill(user.username)
    form.locator("input[name=password]").fill("not-" + TEST_PASSWORD)
    form.locator("[type=submit]").click()

    expect(page).to_have_url(f"{live_server.url}/accounts/login/")
    expect(form).to_contain_text("The username or password is incorrect.")
    expect(page.get_by_test_id("nav-user")).to_have_count(0)
    assert _auth_cookies(page) == {}
