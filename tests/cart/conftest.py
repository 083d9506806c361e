import pytest

from tests.factories import ProductFactory


@pytest.fixture
def product(db):
    """Visible, 10 in stock, ₹499.00."""
    return ProductFactory()
