"""Order e-mails go out after commit, as HTML with a plain-text alternative, and never break an order."""

import logging
from decimal import Decimal
from smtplib import SMTPException

import pytest
from django.core import mail
from django.core.mail import EmailMultiAlternatives

from cart.errors import OutOfStock
from orders.errors import InvalidTransition
from orders.models import Order
from orders.services.lifecycle import order_item_cancel, order_item_confirm, order_item_deliver, order_item_ship
from tests.factories import ProductFactory, StoreFactory, UserFactory
from tests.orders.helpers import buy_now, items_of, order_of

pytestmark = pytest.mark.django_db


def html_of(message) -> str:
    [alternative] = message.alternatives
    assert alternative.mimetype == "text/html"
    return alternative.content


def sent_to(address: str) -> list:
    return [message for message in mail.outbox if message.to == [address]]


@pytest.fixture
def placed(buyer, product, django_capture_on_commit_callbacks):
    """A placed item, its placement mails already sent and cleared."""
    with django_capture_on_commit_callbacks(execute=True):
        item = items_of(buy_now(buyer, product, 2))[0]
    mail.outbox.clear()
    return item


class TestOrderPlaced:
    def test_the_buyer_and_each_seller_hear_after_commit(self, buyer, django_capture_on_commit_callbacks):
        first_store, second_store = StoreFactory(name="Kala Crafts"), StoreFactory(name="Chai Corner")
        lamp = ProductFactory(store=first_store, title="Brass lamp", price=Decimal("1250.00"))
        tea = ProductFactory(store=second_store, title="Assam tea", price=Decimal("125000.00"))

        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            order = order_of(buyer, {lamp: 2, tea: 1})
        assert mail.outbox == []  # nothing goes out while the transaction is open
        for callback in callbacks:
            callback()

        [to_buyer] = sent_to(buyer.email)
        assert to_buyer.subject == f"Your JoyCart order {order.number} is placed"
        assert "Brass lamp" in to_buyer.body and "Assam tea" in to_buyer.body
        assert "Total: ₹1,27,500.00" in to_buyer.body
        assert "Pay ₹1,27,500.00 when your items arrive" in to_buyer.body
        assert "1 Test Street" in to_buyer.body
        html = html_of(to_buyer)
        assert order.number in html and "₹1,27,500.00" in html

        [to_lamp_seller] = sent_to(first_store.user.email)
        assert to_lamp_seller.subject == f"New order {order.number}: 2 items to confirm"
        assert "Brass lamp" in to_lamp_seller.body and "Assam tea" not in to_lamp_seller.body
        assert "Brass lamp" in html_of(to_lamp_seller)
        [to_tea_seller] = sent_to(second_store.user.email)
        assert to_tea_seller.subject == f"New order {order.number}: 1 item to confirm"
        assert "Assam tea" in to_tea_seller.body and "Brass lamp" not in to_tea_seller.body
        assert len(mail.outbox) == 3
        assert all(message.from_email == "JoyCart <no-reply@joycart.local>" for message in mail.outbox)

    def test_a_refused_checkout_mails_nobody(self, buyer, django_capture_on_commit_callbacks):
        product = ProductFactory(stock=1)
        with django_capture_on_commit_callbacks(execute=True), pytest.raises(OutOfStock):
            buy_now(buyer, product, 2)
        assert mail.outbox == []

    def test_titles_are_escaped_in_html_and_plain_in_text(self, buyer, django_capture_on_commit_callbacks):
        product = ProductFactory(title="Salt & <b>Pepper</b>")
        with django_capture_on_commit_callbacks(execute=True):
            buy_now(buyer, product)
        [to_buyer] = sent_to(buyer.email)
        assert "Salt & <b>Pepper</b>" in to_buyer.body
        assert "Salt &amp; &lt;b&gt;Pepper&lt;/b&gt;" in html_of(to_buyer)

    def test_a_failing_mail_server_does_not_fail_the_order(
        self, buyer, product, monkeypatch, caplog, django_capture_on_commit_callbacks
    ):
        def refuse(self, *args, **kwargs):
            raise SMTPException("421 service not available")

        monkeypatch.setattr(EmailMultiAlternatives, "send", refuse)
        with (
            caplog.at_level(logging.ERROR, logger="orders.notifications"),
            django_capture_on_commit_callbacks(execute=True),
        ):
            order = buy_now(buyer, product)
        assert Order.objects.filter(pk=order.pk).exists()
        assert "Could not send the 'order_placed' e-mail" in caplog.text


class TestItemMoves:
    def test_confirming_mails_nobody(self, placed, store, django_capture_on_commit_callbacks):
        with django_capture_on_commit_callbacks(execute=True):
            order_item_confirm(item_id=placed.pk, actor=store.user)
        assert mail.outbox == []

    def test_shipping_tells_the_buyer_the_tracking_number(
        self, placed, buyer, store, django_capture_on_commit_callbacks
    ):
        order_item_confirm(item_id=placed.pk, actor=store.user)
        with django_capture_on_commit_callbacks(execute=True):
            order_item_ship(item_id=placed.pk, actor=store.user, carrier="Delhivery", tracking_number="DLV42")
        [message] = mail.outbox
        assert message.to == [buyer.email]
        assert message.subject == f"Shipped: {placed.title} ({placed.order.number})"
        assert "Carrier: Delhivery" in message.body and "Tracking number: DLV42" in message.body
        assert "DLV42" in html_of(message)

    def test_delivery_tells_the_buyer(self, placed, buyer, store, django_capture_on_commit_callbacks):
        order_item_confirm(item_id=placed.pk, actor=store.user)
        order_item_ship(item_id=placed.pk, actor=store.user)
        with django_capture_on_commit_callbacks(execute=True):
            order_item_deliver(item_id=placed.pk, actor=store.user)
        [message] = mail.outbox
        assert message.to == [buyer.email]
        assert message.subject.startswith("Delivered: ")

    def test_a_buyers_cancellation_tells_the_buyer_and_the_seller(
        self, placed, buyer, store, django_capture_on_commit_callbacks
    ):
        with django_capture_on_commit_callbacks(execute=True):
            order_item_cancel(item_id=placed.pk, actor=buyer, reason="Bought it locally")
        [to_buyer] = sent_to(buyer.email)
        assert to_buyer.subject == f"Cancelled: {placed.title} ({placed.order.number})"
        assert "You cancelled it. Reason: Bought it locally" in to_buyer.body
        [to_seller] = sent_to(store.user.email)
        assert "cancelled by the buyer. Do not ship it." in to_seller.body
        assert "Bought it locally" in html_of(to_seller)
        assert len(mail.outbox) == 2

    def test_a_sellers_cancellation_tells_only_the_buyer(
        self, placed, buyer, store, django_capture_on_commit_callbacks
    ):
        with django_capture_on_commit_callbacks(execute=True):
            order_item_cancel(item_id=placed.pk, actor=store.user, reason="Damaged in storage")
        [message] = mail.outbox
        assert message.to == [buyer.email]
        assert "The seller cancelled it. Reason: Damaged in storage" in message.body

    def test_a_staff_cancellation_tells_both(self, placed, buyer, store, django_capture_on_commit_callbacks):
        with django_capture_on_commit_callbacks(execute=True):
            order_item_cancel(item_id=placed.pk, actor=UserFactory(is_staff=True), reason="Fraud check")
        assert {tuple(message.to) for message in mail.outbox} == {(buyer.email,), (store.user.email,)}
        assert "JoyCart support cancelled it" in sent_to(buyer.email)[0].body

    def test_a_refused_move_mails_nobody(self, placed, buyer, django_capture_on_commit_callbacks):
        order_item_cancel(item_id=placed.pk, actor=buyer, reason="First")
        with django_capture_on_commit_callbacks(execute=True), pytest.raises(InvalidTransition):
            order_item_cancel(item_id=placed.pk, actor=buyer, reason="Second")
        assert mail.outbox == []


class TestOnTheDatabaseQueue:
    """Production queues mail tasks in the database, in the transaction that placed the order."""

    @pytest.fixture(autouse=True)
    def _database_queue(self, settings):
        settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

    def test_placing_an_order_queues_its_mails_and_sends_nothing_in_the_request(self, buyer, product):
        from django_tasks_db.models import DBTaskResult

        order = buy_now(buyer, product, 1)
        assert mail.outbox == []
        [queued] = DBTaskResult.objects.all()
        assert queued.task_path == "orders.tasks.order_placed_email_send"
        assert queued.args_kwargs["kwargs"] == {"order_id": order.pk}

    def test_an_order_rolled_back_after_placing_leaves_no_mail_task(self, buyer, product):
        from django.db import transaction
        from django_tasks_db.models import DBTaskResult

        with pytest.raises(RuntimeError), transaction.atomic():
            buy_now(buyer, product, 1)
            raise RuntimeError("something later in the same transaction failed")
        assert not Order.objects.exists()
        assert not DBTaskResult.objects.exists()

    # The worker closes its database connection when it is done, as a real process would.
    @pytest.mark.django_db(transaction=True)
    def test_the_worker_sends_the_queued_mails(self, buyer, product):
        from django.core.management import call_command

        buy_now(buyer, product, 1)
        call_command("db_worker", "--batch", "--no-startup-delay", verbosity=0)
        assert [message.subject for message in sent_to(buyer.email)] == [
            f"Your JoyCart order {Order.objects.get().number} is placed"
        ]
        assert sent_to(product.store.user.email)
