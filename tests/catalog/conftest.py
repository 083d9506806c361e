from decimal import Decimal

import pytest

from catalog.services.products import product_create
from tests.factories import CategoryFactory, StoreFactory


@pytest.fixture
def product():
    """One visible, in-stock product made through the service, as a seller makes it."""
    return product_create(
        store=StoreFactory(),
        title="Terracotta planter",
        category=CategoryFactory(),
        sku="TP-1",
        price=Decimal("650.00"),
        stock=3,
    )
