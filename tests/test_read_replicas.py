"""Read replicas: the public catalog is read from a replica outside transactions; everything else, and a
client that has just written, reads the primary. Without DATABASE_REPLICA_URLS nothing changes.

The replica here is `replica_1` mirroring the test database (Django's TEST MIRROR, as settings.py sets it),
so the tests see where each query went, not replication itself. They commit (transaction=True): inside
the test case's own transaction every read would rightly go to the primary. The settings that turn replicas
on are tested in test_settings_replicas.py.
"""

import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.db import connections, transaction
from django.test.utils import CaptureQueriesContext

from accounts.models import User
from cart.models import Cart
from catalog.models import Product
from joycart.db_router import PRIMARY_READS_COOKIE, replica_reads
from orders.models import Order
from tests.conftest import TEST_REPLICA as REPLICA
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", REPLICA])
ROUTER = "joycart.db_router.ReplicaRouter"
MIDDLEWARE = "joycart.db_router.ReplicaReadsMiddleware"


@pytest.fixture
def replica(settings):
    """`replica_1` (tests/conftest.py), with the router and middleware installed as settings.py installs them."""
    settings.DATABASE_REPLICAS = [REPLICA]
    settings.DATABASE_ROUTERS = [ROUTER]
    middleware = list(settings.MIDDLEWARE)
    middleware.insert(middleware.index("joycart.middleware.RefuseNulMiddleware") + 1, MIDDLEWARE)
    settings.MIDDLEWARE = middleware
    return connections[REPLICA]


@contextmanager
def sql_seen() -> Iterator[dict[str, str]]:
    """Inside, queries are recorded; after the block, `seen["primary"]` and `seen["replica"]` hold their SQL."""
    seen = {}
    with (
        CaptureQueriesContext(connections["default"]) as primary,
        CaptureQueriesContext(connections[REPLICA]) as replica,
    ):
        yield seen
    seen["primary"] = "\n".join(query["sql"] for query in primary.captured_queries)
    seen["replica"] = "\n".join(query["sql"] for query in replica.captured_queries)


@pytest.fixture
def shopper(replica, logged_in_client):
    """A client that logged in a while ago: its login no longer holds it to the primary."""
    del logged_in_client.cookies[PRIMARY_READS_COOKIE]
    return logged_in_client


def catalog_sql(sql: str) -> bool:
    return "catalog_product" in sql


# --- the router ---------------------------------------------------------------------------------------------


def test_a_catalog_read_outside_a_transaction_goes_to_the_replica(replica):
    product = ProductFactory()
    with replica_reads(), sql_seen() as seen:
        read = Product.objects.get(pk=product.pk)
        images = list(read.images.all())
    assert read._state.db == REPLICA
    assert images == []
    assert catalog_sql(seen["replica"])
    assert "catalog_productimage" in seen["replica"]
    assert seen["primary"] == ""


def test_a_catalog_read_inside_a_transaction_reads_the_primary_and_sees_its_own_write(replica):
    product = ProductFactory(title="Old title")
    with replica_reads(), sql_seen() as seen, transaction.atomic():
        Product.objects.filter(pk=product.pk).update(title="New title")
        read = Product.objects.get(pk=product.pk)
    assert (read.title, read._state.db) == ("New title", "default")
    assert seen["replica"] == ""


def test_a_write_goes_to_the_primary_even_for_a_row_read_from_the_replica(replica):
    product = ProductFactory(title="Old title")
    with replica_reads():
        read = Product.objects.get(pk=product.pk)
        read.title = "New title"
        with sql_seen() as seen:
            read.save(update_fields=["title"])
    assert "UPDATE" in seen["primary"]
    assert seen["replica"] == ""
    assert Product.objects.get(pk=product.pk).title == "New title"


def test_carts_orders_and_users_are_read_from_the_primary(replica, user):
    Cart.objects.create(user=user)
    with replica_reads(), sql_seen() as seen:
        assert User.objects.get(pk=user.pk)._state.db == "default"
        assert Cart.objects.get(user=user)._state.db == "default"
        assert Order.objects.count() == 0
    assert seen["replica"] == ""
    assert "cart_cart" in seen["primary"]


def test_code_that_did_not_opt_in_reads_the_primary(replica):
    """Background tasks and management commands run outside a request."""
    product = ProductFactory()
    with sql_seen() as seen:
        assert Product.objects.get(pk=product.pk)._state.db == "default"
    assert seen["replica"] == ""


def test_only_the_primary_is_migrated(replica):
    from django.db import router

    assert router.allow_migrate("default", "catalog", model_name="product")
    assert not router.allow_migrate(REPLICA, "catalog", model_name="product")


# --- requests -----------------------------------------------------------------------------------------------


def test_a_logged_in_shoppers_product_page_reads_the_catalog_from_the_replica(shopper):
    product = ProductFactory()
    with sql_seen() as seen:
        response = shopper.get(f"/api/v1/products/{product.pk}/")
    assert response.status_code == 200
    assert response.json()["title"] == product.title
    assert catalog_sql(seen["replica"])
    assert not catalog_sql(seen["primary"])


def test_after_the_clients_own_write_it_reads_the_primary_for_the_sticky_seconds(shopper, settings):
    settings.DATABASE_REPLICA_STICKY_SECONDS = 1
    product = ProductFactory()
    added = shopper.post("/api/v1/cart/items/", {"product_id": product.pk, "quantity": 1}, format="json")
    assert added.status_code == 201, added.content
    assert added.cookies[PRIMARY_READS_COOKIE]["max-age"] == 1

    with sql_seen() as seen:
        assert shopper.get(f"/api/v1/products/{product.pk}/").status_code == 200
    assert catalog_sql(seen["primary"])
    assert seen["replica"] == ""

    time.sleep(1.05)
    with sql_seen() as seen:
        assert shopper.get(f"/api/v1/products/{product.pk}/").status_code == 200
    assert catalog_sql(seen["replica"])
    assert not catalog_sql(seen["primary"])


def test_a_client_cannot_hold_itself_to_the_primary_by_editing_the_cookie(shopper):
    product = ProductFactory()
    shopper.post("/api/v1/cart/items/", {"product_id": product.pk, "quantity": 1}, format="json")
    _deadline, signature = shopper.cookies[PRIMARY_READS_COOKIE].value.split(":", 1)
    shopper.cookies[PRIMARY_READS_COOKIE] = f"{time.time() + 3600}:{signature}"
    with sql_seen() as seen:
        assert shopper.get(f"/api/v1/products/{product.pk}/").status_code == 200
    assert catalog_sql(seen["replica"])


def test_what_is_stored_in_the_shared_catalog_cache_is_read_from_the_primary(replica, client):
    """A lagging replica could hold older rows than the catalog version the value is stored under."""
    product = ProductFactory()
    with sql_seen() as seen:
        first = client.get("/api/v1/products/")
    assert [row["slug"] for row in first.json()["results"]] == [product.slug]
    assert catalog_sql(seen["primary"])
    assert seen["replica"] == ""
