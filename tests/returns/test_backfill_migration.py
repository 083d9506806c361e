"""orders/0005_returns_backfill on a shop that delivered items before returns existed: each delivered item is
delivered when its timeline says, and every item takes its category's return window as it is now."""

from datetime import timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from catalog.models import Category
from orders.models import OrderEvent, OrderItem, OrderItemStatus
from tests.factories import ProductFactory
from tests.orders.helpers import buy_now, items_of, make_buyer
from tests.returns.helpers import deliver

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("orders", "0004_returns")]
AFTER = [("orders", "0005_returns_backfill")]


def migrate(targets) -> None:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)


@pytest.fixture
def back_to_latest():
    yield
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())


def item_in(category, *, delivered: bool) -> OrderItem:
    item = items_of(buy_now(make_buyer(), ProductFactory(category=category), 1))[0]
    return deliver(item) if delivered else item


def test_delivered_items_get_their_delivery_time_and_every_item_its_categorys_window(back_to_latest):
    clothing = Category.objects.create(name="Clothing", slug="clothing", return_window_days=15)
    shirts = Category.objects.create(name="Shirts", slug="shirts", parent=clothing)  # inherits 15
    food = Category.objects.create(name="Food", slug="food", return_window_days=0)
    books = Category.objects.create(name="Books", slug="books")  # the default
    novels = Category.objects.create(name="Novels", slug="novels", parent=books)  # the default, through its parent
    shirt = item_in(shirts, delivered=True)
    snack = item_in(food, delivered=True)
    novel = item_in(novels, delivered=True)
    coat = item_in(clothing, delivered=False)
    delivered_on = {
        shirt.pk: timezone.now() - timedelta(days=3, hours=5),
        snack.pk: timezone.now() - timedelta(days=40),
        novel.pk: timezone.now() - timedelta(hours=2),
    }
    for item_id, when in delivered_on.items():
        OrderEvent.objects.filter(item_id=item_id, to_status=OrderItemStatus.DELIVERED).update(created_at=when)
        OrderEvent.objects.filter(item_id=item_id, to_status=OrderItemStatus.SHIPPED).update(
            created_at=when - timedelta(days=1)
        )
    # What the shop looked like before returns: no delivery time, no window.
    OrderItem.objects.update(delivered_at=None, return_window_days=0)

    migrate(BEFORE)
    migrate(AFTER)

    got = {item.pk: (item.delivered_at, item.return_window_days) for item in OrderItem.objects.all()}
    assert got == {
        shirt.pk: (delivered_on[shirt.pk], 15),
        snack.pk: (delivered_on[snack.pk], 0),
        novel.pk: (delivered_on[novel.pk], 7),
        coat.pk: (None, 15),
    }


def test_a_delivery_time_already_set_is_kept(back_to_latest):
    item = item_in(Category.objects.create(name="Toys", slug="toys"), delivered=True)
    kept = OrderItem.objects.get(pk=item.pk).delivered_at
    OrderEvent.objects.filter(item=item, to_status=OrderItemStatus.DELIVERED).update(
        created_at=kept - timedelta(days=5)
    )

    migrate(BEFORE)
    migrate(AFTER)

    assert OrderItem.objects.get(pk=item.pk).delivered_at == kept
