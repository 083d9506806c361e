"""A seller deleting a product: a return the seller or staff must still act on keeps it, a settled one does not."""

import pytest

from catalog.errors import ProductHasOpenOrders
from catalog.models import Product
from catalog.services.products import product_delete
from orders.models import DELIVERED_STATUSES, OrderItem, OrderItemStatus
from tests.factories import ProductFactory
from tests.orders.helpers import buy_now, items_of, make_buyer
from tests.returns.helpers import deliver

pytestmark = pytest.mark.django_db
S = OrderItemStatus
SETTLED = {S.DELIVERED, S.RETURN_REJECTED, S.RETURNED}


@pytest.mark.parametrize("status", sorted(DELIVERED_STATUSES))
def test_a_product_with_an_open_return_is_kept_and_a_settled_one_is_deactivated(status):
    product = ProductFactory()
    item = deliver(items_of(buy_now(make_buyer(), product, 1))[0])
    OrderItem.objects.filter(pk=item.pk).update(status=status)
    if status in SETTLED:
        assert product_delete(product=product) is False  # sold, so kept for the orders, but hidden
        assert Product.objects.get(pk=product.pk).is_active is False
    else:
        with pytest.raises(ProductHasOpenOrders):
            product_delete(product=product)
        assert Product.objects.get(pk=product.pk).is_active is True
