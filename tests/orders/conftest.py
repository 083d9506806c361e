import pytest

from tests.factories import ProductFactory, StoreFactory
from tests.orders.helpers import make_buyer


@pytest.fixture
def store(db):
    return StoreFactory()


@pytest.fixture
def product(store):
    """Visible, 10 in stock, ₹499.00, sold by `store`."""
    return ProductFactory(store=store)


@pytest.fixture
def buyer(db):
    """A shopper with a default address at `buyer.address`."""
    return make_buyer()
