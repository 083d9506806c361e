import pytest

from tests.factories import ProductFactory, VariantFactory


@pytest.fixture
def product(db):
    """Visible, 10 in stock, ₹499.00."""
    return ProductFactory()


@pytest.fixture(autouse=True)
def variant_ids_apart_from_product_ids(db):
    """A product made by the factory and its variant would otherwise share an id, so a cart that
    took one for the other would still pass. A throwaway variant puts the variant ids one ahead."""
    spare = ProductFactory()
    VariantFactory(product=spare, option1="spare")
    spare.delete()
