from decimal import Decimal

import pytest

from tests.factories import CategoryFactory, ProductFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


def test_staff_edit_goes_through_the_service_and_refreshes_the_shop(
    admin_client, client, django_capture_on_commit_callbacks
):
    product = ProductFactory(price=Decimal("100.00"), stock=4)
    anonymous = client.__class__()
    anonymous.get(f"/products/{product.slug}/")  # cached
    form = {
        "title": "Renamed by support", "category": product.category_id, "brand": product.brand, "sku": product.sku,
        "description": product.description, "price": "120.00", "mrp": "", "is_active": "on",
        "images-TOTAL_FORMS": "0", "images-INITIAL_FORMS": "0",
    }  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(f"/admin/catalog/product/{product.pk}/change/", form)
    assert response.status_code == 302, response.content.decode()[:2000]
    product.refresh_from_db()
    assert (product.title, product.price, product.stock) == ("Renamed by support", Decimal("120.00"), 4)
    assert "Renamed by support" in anonymous.get(f"/products/{product.slug}/").content.decode()


def test_category_parent_choices_are_top_level_only(admin_client):
    top = CategoryFactory(slug="top")
    CategoryFactory(slug="child", parent=top)
    form = admin_client.get("/admin/catalog/category/add/").context["adminform"].form
    assert list(form.fields["parent"].queryset.values_list("slug", flat=True)) == ["top"]


def test_product_admin_lists_with_flat_queries(admin_client, assert_flat_query_count):
    ProductFactory.create_batch(3)
    assert_flat_query_count(
        lambda: admin_client.get("/admin/catalog/product/"), lambda: ProductFactory.create_batch(20), max_queries=12
    )


def test_staff_cannot_set_a_price_above_the_cap(admin_client):
    product = ProductFactory(price=Decimal("100.00"))
    form = {
        "title": product.title, "category": product.category_id, "brand": product.brand, "sku": product.sku,
        "description": product.description, "price": "100000000.00", "mrp": "", "is_active": "on",
        "images-TOTAL_FORMS": "0", "images-INITIAL_FORMS": "0",
    }  # fmt: skip
    response = admin_client.post(f"/admin/catalog/product/{product.pk}/change/", form)
    assert response.status_code == 200
    assert "The price can be at most ₹9,99,99,999.99." in response.context["adminform"].form.errors["price"]
    product.refresh_from_db()
    assert product.price == Decimal("100.00")
