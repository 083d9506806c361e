import pytest

from tests.factories import ProductFactory, StoreFactory
from tests.orders.helpers import make_buyer
from tests.reviews.helpers import item_at


@pytest.fixture
def store(db):
    return StoreFactory()


@pytest.fixture
def product(store):
    """Visible, 10 in stock, ₹499.00, sold by `store`."""
    return ProductFactory(store=store, stock=50)


@pytest.fixture
def buyer(db):
    """A shopper with a default address at `buyer.address`."""
    return make_buyer()


@pytest.fixture
def reviewer(product):
    """A buyer whose item of `product` has been delivered: may review it."""
    buyer = make_buyer(first_name="Meera", last_name="Iyer")
    item_at(buyer, product)
    return buyer


@pytest.fixture
def verified_buyers(product):
    """`verified_buyers(n)`: n new buyers with a delivered item of `product`."""

    def make(count: int) -> list:
        buyers = []
        for _ in range(count):
            buyer = make_buyer()
            item_at(buyer, product)
            buyers.append(buyer)
        return buyers

    return make
