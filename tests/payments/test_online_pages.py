"""The pages of online payment: checkout → pay page → the sandbox's checkout page → our callback → the order page,
whether the callback or the webhook comes first; failures, "Try again", and the pay page with real keys."""

import html as html_lib
import json
import re
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.contrib.messages import get_messages
from django.test import Client

from orders.models import Order, OrderItemStatus
from payments.models import PaymentStatus
from payments.services.expiry import orders_expire_unpaid
from tests.orders.helpers import buy_now, make_buyer, put_in_cart
from tests.orders.test_views import checkout_form, html_of, login
from tests.payments.online_helpers import (
    CALLBACK,
    age,
    buy_now_online,
    deliver_all,
    payment_of,
    statuses,
    success_fields,
)

pytestmark = pytest.mark.django_db

S = OrderItemStatus
HOST = "127.0.0.1"  # the sandbox only sends buyers back to this machine or ALLOWED_HOSTS


@pytest.fixture
def shopper(buyer) -> Client:
    return login(Client(HTTP_HOST=HOST), buyer)


@pytest.fixture
def gateway_post() -> Client:
    """The gateway's cross-site POST to our callback: no cookies of the buyer, CSRF checks on."""
    return Client(enforce_csrf_checks=True, HTTP_HOST=HOST)


def flashes(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request) if not str(m).startswith("Welcome back")]


def hidden_fields(page: str) -> dict[str, str]:
    return {
        html_lib.unescape(name): html_lib.unescape(value)
        for name, value in re.findall(r"<input type='hidden' name='([^']*)' value='([^']*)'>", page)
    }


def pay_link(page: str) -> str:
    match = re.search(r'href="([^"]+)" data-testid="pay-link"', page)
    assert match, "no sandbox pay link"
    return html_lib.unescape(match.group(1))


def sandbox_button(link: str, button: str) -> dict[str, str]:
    """Open the sandbox's checkout page and press Pay or Fail: the fields it posts back to our callback."""
    page = requests.get(link, timeout=5)
    assert page.status_code == 200, page.text
    parts = urlsplit(link)
    query = {name: values[0] for name, values in parse_qs(parts.query).items()}
    returned = requests.post(f"{parts.scheme}://{parts.netloc}{parts.path}/{button}", data=query, timeout=5)
    assert returned.status_code == 200, returned.text
    assert f"action='{query['callback_url']}'" in returned.text
    return hidden_fields(returned.text)


def place_online_from_the_page(shopper, buyer, product):
    put_in_cart(buyer, product, 2)
    form = checkout_form(html_of(shopper.get("/checkout/")), payment_method="ONLINE")
    return shopper.post("/checkout/", form)


class TestCheckoutToPayPage:
    def test_placing_an_online_order_goes_to_the_pay_page(self, shopper, buyer, product, sandbox_gateway):
        response = place_online_from_the_page(shopper, buyer, product)
        order = Order.objects.get()
        assert response.status_code == 302
        assert response["Location"] == f"/orders/{order.number}/pay/"
        assert "Pay ₹998.00 now to place it" in flashes(response)[0]
        page = html_of(shopper.get(response["Location"]))
        link = pay_link(page)
        assert link.startswith(f"{sandbox_gateway.base_url}/checkout/{payment_of(order).gateway_order_id}?")
        query = parse_qs(urlsplit(link).query)
        assert query["callback_url"] == [f"http://{HOST}{CALLBACK}"]
        assert query["cancel_url"] == [f"http://{HOST}/orders/{order.number}/"]
        assert "₹998.00" in page and f'action="{sandbox_gateway.base_url}' not in page  # CSP: forms post to us only

    def test_only_the_pay_page_widens_the_csp_for_razorpay(self, shopper, buyer, product, sandbox_gateway):
        order = buy_now_online(buyer, product)
        pay_csp = shopper.get(f"/orders/{order.number}/pay/")["Content-Security-Policy"]
        assert "https://checkout.razorpay.com" in pay_csp and "frame-src https://*.razorpay.com" in pay_csp
        order_csp = shopper.get(f"/orders/{order.number}/")["Content-Security-Policy"]
        assert "razorpay" not in order_csp and "form-action 'self'" in order_csp

    def test_with_real_keys_the_page_opens_razorpay_checkout(self, shopper, buyer, product, sandbox_gateway, settings):
        order = buy_now_online(buyer, product)
        settings.PAYMENTS_SANDBOX = False
        response = shopper.get(f"/orders/{order.number}/pay/")
        page = html_of(response)
        nonce = re.search(r"'nonce-([^']+)'", response["Content-Security-Policy"]).group(1)
        assert f'<script src="https://checkout.razorpay.com/v1/checkout.js" nonce="{nonce}"></script>' in page
        assert f'js/razorpay-checkout.js" nonce="{nonce}"></script>' in page
        options = json.loads(re.search(r'id="razorpay-options" type="application/json">(.*?)</script>', page).group(1))
        assert options["key"] == "rzp_test_fixture"
        assert options["order_id"] == payment_of(order).gateway_order_id
        assert (options["amount"], options["currency"], options["redirect"]) == (49_900, "INR", True)
        assert options["callback_url"] == f"http://{HOST}{CALLBACK}"
        assert 'data-testid="pay-link"' not in page

    def test_gateway_down_shows_try_again(self, shopper, buyer, product, sandbox_gateway):
        sandbox_gateway.fail_next(2, path="/v1/orders")
        order = buy_now_online(buyer, product)
        response = shopper.get(f"/orders/{order.number}/pay/")
        assert response.status_code == 503
        assert 'data-testid="pay-retry"' in response.content.decode()
        assert 'data-testid="pay-link"' in html_of(shopper.get(f"/orders/{order.number}/pay/"))

    def test_an_order_no_longer_awaiting_payment_goes_back_to_its_page(self, shopper, buyer, product, sandbox_gateway):
        order = buy_now_online(buyer, product)
        age(order, 16)
        orders_expire_unpaid()
        response = shopper.get(f"/orders/{order.number}/pay/")
        assert response["Location"] == f"/orders/{order.number}/"
        assert flashes(response) == [
            f"Order {order.number} is no longer awaiting payment: its time to pay ran out, so it cannot be paid now."
        ]
        cod = buy_now(buyer, product)
        assert shopper.get(f"/orders/{cod.number}/pay/")["Location"] == f"/orders/{cod.number}/"

    def test_another_buyers_order_is_404(self, buyer, product, sandbox_gateway):
        order = buy_now_online(buyer, product)
        assert login(Client(), make_buyer()).get(f"/orders/{order.number}/pay/").status_code == 404


class TestPayingThroughTheSandboxPage:
    def test_callback_first_confirming_then_the_webhook_places_it(
        self, shopper, gateway_post, client, buyer, product, sandbox_gateway
    ):
        order = buy_now_online(buyer, product)
        page = html_of(shopper.get(f"/orders/{order.number}/"))
        assert 'data-testid="pay-now"' in page and "Pay now" in page

        fields = sandbox_button(pay_link(html_of(shopper.get(f"/orders/{order.number}/pay/"))), "pay")
        response = gateway_post.post(CALLBACK, fields)
        assert response.status_code == 302 and response["Location"] == f"/orders/{order.number}/"
        assert payment_of(order).verified_at is not None

        page = html_of(shopper.get(response["Location"]))
        assert "Payment received, confirming…" in page
        assert '<meta http-equiv="refresh" content="3">' in page
        assert 'data-testid="pay-now"' not in page

        deliver_all(client, sandbox_gateway)
        page = html_of(shopper.get(f"/orders/{order.number}/"))
        assert statuses(order) == [S.PLACED]
        assert "Paid ₹499.00 online" in page and "http-equiv" not in page and "confirming" not in page

    def test_webhook_first_then_the_callback_shows_it_paid(
        self, shopper, gateway_post, client, buyer, product, sandbox_gateway
    ):
        order = buy_now_online(buyer, product)
        fields = sandbox_button(pay_link(html_of(shopper.get(f"/orders/{order.number}/pay/"))), "pay")
        deliver_all(client, sandbox_gateway)
        response = gateway_post.post(CALLBACK, fields)
        assert response["Location"] == f"/orders/{order.number}/"
        page = html_of(shopper.get(response["Location"]))
        assert "Paid ₹499.00 online" in page and "confirming" not in page

    def test_a_failed_attempt_shows_why_and_try_again(self, shopper, gateway_post, buyer, product, sandbox_gateway):
        order = buy_now_online(buyer, product)
        fields = sandbox_button(pay_link(html_of(shopper.get(f"/orders/{order.number}/pay/"))), "fail")
        assert set(fields) >= {"error[code]", "error[description]", "error[metadata]"}
        response = gateway_post.post(CALLBACK, fields)
        assert response["Location"] == f"/orders/{order.number}/"
        # Recorded from the gateway's own answer, before its payment.failed webhook arrives.
        assert payment_of(order).failure_reason == "Payment failed at the bank (sandbox)"
        page = html_of(shopper.get(response["Location"]))
        assert "Your last payment attempt failed: Payment failed at the bank (sandbox)" in page
        assert re.search(rf'href="/orders/{order.number}/pay/" data-testid="pay-now">Try again<', page)

        fields = sandbox_button(pay_link(html_of(shopper.get(f"/orders/{order.number}/pay/"))), "pay")
        gateway_post.post(CALLBACK, fields)
        assert "Payment received, confirming…" in html_of(shopper.get(f"/orders/{order.number}/"))

    def test_a_forged_failure_callback_records_nothing(self, gateway_post, buyer, product, sandbox_gateway):
        order = buy_now_online(buyer, product)
        gateway_order_id = payment_of(order).gateway_order_id
        paid = sandbox_gateway.pay(gateway_order_id)
        for payment_id in (paid["id"], "pay_made_up", None):
            metadata = json.dumps({"payment_id": payment_id, "order_id": gateway_order_id})
            forged = {"error[code]": "BAD_REQUEST_ERROR", "error[description]": "Lies", "error[metadata]": metadata}
            assert gateway_post.post(CALLBACK, forged)["Location"] == f"/orders/{order.number}/"
        assert payment_of(order).failed_at is None

    def test_a_bad_signature_changes_nothing(self, gateway_post, buyer, product, sandbox_gateway):
        order = buy_now_online(buyer, product)
        paid = sandbox_gateway.pay(payment_of(order).gateway_order_id)
        response = gateway_post.post(CALLBACK, {**success_fields(paid), "razorpay_signature": "00"})
        assert response["Location"] == f"/orders/{order.number}/"
        assert "We could not verify this payment" in flashes(response)[0]
        assert payment_of(order).verified_at is None and payment_of(order).status == PaymentStatus.PENDING

    def test_an_unknown_gateway_order_goes_to_the_order_list(self, gateway_post, sandbox_gateway):
        fields = {"razorpay_order_id": "order_nope", "razorpay_payment_id": "pay_x", "razorpay_signature": "00"}
        for body in (fields, {"error[metadata]": "not json"}, {}):
            response = gateway_post.post(CALLBACK, body)
            assert response["Location"] == "/orders/"
        assert gateway_post.get(CALLBACK).status_code == 405


def test_an_expired_order_shows_no_pay_button(shopper, buyer, product, sandbox_gateway):
    order = buy_now_online(buyer, product)
    age(order, 16)
    orders_expire_unpaid()
    page = html_of(shopper.get(f"/orders/{order.number}/"))
    assert 'data-testid="pay-now"' not in page
    assert "payment not received" in page
