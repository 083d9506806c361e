"""The orders admin: read-only screens, and cancelling open items through the lifecycle service."""

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.utils import timezone

from orders.models import ActorRole, Order, OrderEvent, OrderItemStatus
from orders.services.lifecycle import order_item_confirm, order_item_ship
from payments.models import PaymentStatus
from tests.factories import ProductFactory, UserFactory
from tests.orders.helpers import buy_now, items_of, make_buyer, order_of, stock_of

pytestmark = pytest.mark.django_db

S = OrderItemStatus
ORDERS = "/admin/orders/order/"
ACTION = "cancel_open_items"


@pytest.fixture
def admin_client(client, staff):
    client.force_login(staff)
    return client


def flashes(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def run_action(client, orders, **data):
    return client.post(ORDERS, {"action": ACTION, "_selected_action": [order.pk for order in orders], **data})


@pytest.fixture
def mixed_order(buyer):
    """One order with a placed, a confirmed and a shipped item; 3 of each product sold."""
    products = [ProductFactory() for _ in range(3)]
    order = order_of(buyer, dict.fromkeys(products, 3))
    _placed, confirmed, shipped = items_of(order)
    for item in (confirmed, shipped):
        order_item_confirm(item_id=item.pk, actor=item.seller.user)
    order_item_ship(item_id=shipped.pk, actor=shipped.seller.user)
    return order, products


class TestOrderScreens:
    def test_changelist_query_count_is_flat(self, admin_client, assert_flat_query_count):
        buy_now(make_buyer(), ProductFactory())
        assert_flat_query_count(
            lambda: admin_client.get(ORDERS),
            lambda: [order_of(make_buyer(), {ProductFactory(): 1, ProductFactory(): 2}) for _ in range(6)],
            max_queries=12,
        )

    def test_search_by_number_username_and_email(self, admin_client):
        meera = make_buyer(username="meera", email="meera@example.in")
        ravi = make_buyer(username="ravi", email="ravi@example.com")
        mine, theirs = buy_now(meera, ProductFactory()), buy_now(ravi, ProductFactory())
        for term, expected in ((mine.number, mine), ("ravi", theirs), ("example.in", mine)):
            result = admin_client.get(ORDERS, {"q": term}).context["cl"].result_list
            assert list(result) == [expected], term

    def test_filters_by_status_payment_method_and_date(self, admin_client, buyer, product):
        placed, cancelled = buy_now(buyer, product), buy_now(buyer, product)
        run_action(admin_client, [cancelled], apply="1", reason="Duplicate order")
        results = admin_client.get(ORDERS, {"status__exact": "CANCELLED"}).context["cl"].result_list
        assert list(results) == [cancelled]
        assert admin_client.get(ORDERS, {"payment_method__exact": "ONLINE"}).context["cl"].result_count == 0
        today = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)  # the "Today" link
        assert admin_client.get(ORDERS, {"created_at__gte": str(today)}).context["cl"].result_count == 2
        assert admin_client.get(ORDERS, {"created_at__lt": str(today)}).context["cl"].result_count == 0
        assert placed in list(admin_client.get(ORDERS, {"status__exact": "PLACED"}).context["cl"].result_list)

    def test_the_order_page_shows_items_payment_and_timeline_read_only(self, admin_client, mixed_order):
        order, _ = mixed_order
        response = admin_client.get(f"{ORDERS}{order.pk}/change/")
        html = response.content.decode()
        assert response.status_code == 200
        assert order.number in html
        for item in items_of(order):
            assert item.title in html
        assert html.count("Cash on Delivery") >= 1
        assert "timeline event" in html.lower()
        assert 'name="_save"' not in html
        assert 'name="items-0-status"' not in html
        assert 'name="status"' not in html

    def test_orders_cannot_be_added_or_deleted_here(self, admin_client, buyer, product):
        order = buy_now(buyer, product)
        assert admin_client.get(f"{ORDERS}add/").status_code == 403
        assert admin_client.post(f"{ORDERS}{order.pk}/delete/", {"post": "yes"}).status_code == 403
        assert admin_client.post(f"{ORDERS}{order.pk}/change/", {"ship_name": "Someone else"}).status_code == 403
        assert Order.objects.get().ship_name == buyer.address.name


class TestCancelAction:
    def test_asks_for_a_reason_first(self, admin_client, mixed_order):
        order, products = mixed_order
        response = run_action(admin_client, [order])
        html = response.content.decode()
        assert response.status_code == 200
        assert 'name="reason"' in html
        assert "Cancel 2 items" in html
        assert [stock_of(p) for p in products] == [7, 7, 7]

    def test_a_blank_reason_is_asked_for_again(self, admin_client, mixed_order):
        order, _products = mixed_order
        response = run_action(admin_client, [order], apply="1", reason="  ")
        assert response.status_code == 200
        assert "This field is required." in response.content.decode()
        assert [i.status for i in items_of(order)] == [S.PLACED, S.CONFIRMED, S.SHIPPED]

    def test_cancels_open_items_through_the_service(self, admin_client, staff, mixed_order, buyer):
        order, products = mixed_order
        other = buy_now(make_buyer(), products[0])
        response = run_action(admin_client, [order, other], apply="1", reason="Fraud check failed")
        assert response.status_code == 302
        assert flashes(response) == ["Cancelled 3 item(s); their stock is back on sale."]
        assert [i.status for i in items_of(order)] == [S.CANCELLED, S.CANCELLED, S.SHIPPED]
        assert items_of(other)[0].status == S.CANCELLED
        assert [stock_of(p) for p in products] == [10, 10, 7]
        events = OrderEvent.objects.filter(to_status=S.CANCELLED)
        assert {(e.actor_id, e.actor_role, e.reason) for e in events} == {
            (staff.pk, ActorRole.STAFF, "Fraud check failed")
        }
        order.refresh_from_db()
        assert order.payment.status == PaymentStatus.PENDING  # the shipped item is still due
        assert LogEntry.objects.filter(object_id=str(order.pk)).count() == 2

    def test_nothing_open_is_a_warning(self, admin_client, buyer, product):
        order = buy_now(buyer, product)
        item = items_of(order)[0]
        order_item_confirm(item_id=item.pk, actor=product.store.user)
        order_item_ship(item_id=item.pk, actor=product.store.user)
        response = run_action(admin_client, [order], apply="1", reason="x")
        assert response.status_code == 302
        assert flashes(response) == ["None of the selected orders has an item that can still be cancelled."]

    def test_a_reason_with_markup_is_escaped_on_the_order_page(self, admin_client, buyer, product):
        order = buy_now(buyer, product)
        run_action(admin_client, [order], apply="1", reason="<script>alert(1)</script>")
        html = admin_client.get(f"{ORDERS}{order.pk}/change/").content.decode()
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
        assert "<script>alert(1)" not in html

    def test_staff_without_rights_to_orders_do_not_get_the_action(self, client, buyer, product):
        viewer = UserFactory(is_staff=True)
        viewer.user_permissions.add(Permission.objects.get(codename="view_order"))
        client.force_login(viewer)
        order = buy_now(buyer, product)
        response = client.get(ORDERS)
        assert response.status_code == 200
        assert ACTION not in response.content.decode()
        run_action(client, [order], apply="1", reason="x")
        assert items_of(order)[0].status == S.PLACED


def test_payment_list_is_read_only_with_flat_queries(admin_client, assert_flat_query_count):
    buy_now(make_buyer(), ProductFactory())
    assert_flat_query_count(
        lambda: admin_client.get("/admin/payments/payment/"),
        lambda: [buy_now(make_buyer(), ProductFactory()) for _ in range(6)],
        max_queries=12,
    )
    payment = Order.objects.first().payment
    assert admin_client.get(f"/admin/payments/payment/{payment.pk}/change/").status_code == 200
    assert (
        admin_client.post(f"/admin/payments/payment/{payment.pk}/change/", {"status": "COLLECTED"}).status_code == 403
    )
    assert admin_client.get("/admin/payments/payment/add/").status_code == 403
