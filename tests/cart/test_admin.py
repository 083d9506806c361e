import pytest

from tests.cart.helpers import put_in_cart
from tests.factories import ProductFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, staff):
    client.force_login(staff)
    return client


def test_the_cart_list_shows_each_shoppers_totals_without_a_query_per_row(
    admin_client, user, django_assert_max_num_queries
):
    put_in_cart(user, ProductFactory(), 2)
    put_in_cart(user, ProductFactory(), 3)
    for _ in range(5):
        put_in_cart(UserFactory(), ProductFactory(), 1)
    with django_assert_max_num_queries(8):
        response = admin_client.get("/admin/cart/cart/")
    assert response.status_code == 200
    html = response.content.decode()
    assert user.username in html
    assert '<td class="field-items">5</td>' in html


def test_a_cart_page_lists_its_lines_read_only(admin_client, user):
    item = put_in_cart(user, ProductFactory(title="Chai Set"), 2)
    response = admin_client.get(f"/admin/cart/cart/{item.cart_id}/change/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Chai Set" in html
    assert 'name="items-0-quantity"' not in html
    assert admin_client.get("/admin/cart/cart/add/").status_code == 403
