"""The product services apply the same SKU and price rules as every door (catalog.validators)."""

from decimal import Decimal

import pytest

from cart.models import MAX_QUANTITY as CART_MAX_QUANTITY
from catalog.errors import InvalidPrice, InvalidSku
from catalog.models import MAX_AMOUNT, Product
from catalog.services.products import product_create, product_set_active, product_update
from catalog.validators import MAX_PRICE
from orders.models import MAX_QUANTITY as ORDER_MAX_QUANTITY
from tests.factories import CategoryFactory, ProductFactory, StoreFactory

pytestmark = pytest.mark.django_db


def test_a_full_line_of_the_dearest_product_fits_the_money_columns():
    assert MAX_PRICE * max(CART_MAX_QUANTITY, ORDER_MAX_QUANTITY) <= MAX_AMOUNT


@pytest.mark.parametrize(
    ("prices", "message"),
    [
        ({"price": MAX_PRICE + Decimal("0.01")}, "The price can be at most ₹9,99,99,999.99."),
        ({"price": Decimal("10.00"), "mrp": MAX_AMOUNT}, "The MRP can be at most ₹9,99,99,999.99."),
        ({"price": Decimal("0.00")}, "The price must be above ₹0."),
        ({"price": Decimal("10.00"), "mrp": Decimal("9.99")}, "The MRP must be at least the price."),
    ],
)
def test_a_script_creating_a_product_outside_the_price_rules_is_refused(prices, message):
    with pytest.raises(InvalidPrice, match=message):
        product_create(store=StoreFactory(), title="Lamp", category=CategoryFactory(), sku="L-1", **prices)
    assert not Product.objects.exists()


def test_a_script_creating_a_product_with_a_formula_sku_is_refused():
    with pytest.raises(InvalidSku, match="letters, digits"):
        product_create(
            store=StoreFactory(), title="Lamp", category=CategoryFactory(), sku="=cmd|' /C calc'!A0", price=Decimal(1)
        )
    assert not Product.objects.exists()


def test_a_product_priced_before_the_cap_cannot_be_repriced_above_it_but_can_still_be_edited_otherwise():
    legacy = ProductFactory(price=MAX_AMOUNT)
    with pytest.raises(InvalidPrice):
        product_update(product=legacy, price=MAX_AMOUNT - 1)
    product_update(product=legacy, title="Renamed")
    product_set_active(product=legacy, is_active=False)
    legacy.refresh_from_db()
    assert (legacy.title, legacy.is_active, legacy.price) == ("Renamed", False, MAX_AMOUNT)
    product_update(product=legacy, price=MAX_PRICE)
    legacy.refresh_from_db()
    assert legacy.price == MAX_PRICE
