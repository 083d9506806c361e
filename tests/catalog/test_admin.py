from decimal import Decimal
from pathlib import Path

import pytest

from catalog.models import Product
from catalog.services.images import product_image_add
from tests.catalog.test_images import picture
from tests.factories import CategoryFactory, ProductFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


def _change_form(product, **changes) -> dict:
    variants = product.variants.count()
    return {
        "title": product.title, "category": product.category_id, "brand": product.brand,
        "description": product.description, "is_active": "on",
        "variants-TOTAL_FORMS": str(variants), "variants-INITIAL_FORMS": str(variants),
        **{f"variants-{index}-id": str(pk) for index, pk in enumerate(product.variants.values_list("pk", flat=True))},
        **{f"variants-{index}-product": str(product.pk) for index in range(variants)},
        "images-TOTAL_FORMS": "0", "images-INITIAL_FORMS": "0",
        **changes,
    }  # fmt: skip


def test_staff_edit_goes_through_the_service_and_refreshes_the_shop(
    admin_client, client, django_capture_on_commit_callbacks
):
    product = ProductFactory(price=Decimal("100.00"), stock=4)
    anonymous = client.__class__()
    anonymous.get(f"/products/{product.slug}/")  # cached
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            f"/admin/catalog/product/{product.pk}/change/", _change_form(product, title="Renamed by support")
        )
    assert response.status_code == 302, response.content.decode()[:2000]
    product.refresh_from_db()
    assert (product.title, product.price, product.stock) == ("Renamed by support", Decimal("100.00"), 4)
    assert "Renamed by support" in anonymous.get(f"/products/{product.slug}/").content.decode()


def test_the_admin_shows_variants_inline_and_writes_no_price_or_stock(admin_client):
    product = ProductFactory(sku="KURTA-M", price=Decimal("100.00"), stock=4)
    page = admin_client.get(f"/admin/catalog/product/{product.pk}/change/").content.decode()
    assert "KURTA-M" in page
    forged = _change_form(product, price="100000000.00", stock="999", **{"variants-0-price": "1.00"})
    response = admin_client.post(f"/admin/catalog/product/{product.pk}/change/", forged)
    assert response.status_code == 302, response.content.decode()[:2000]
    product.refresh_from_db()
    variant = product.variants.get()
    assert (product.price, product.stock, variant.price, variant.stock) == (Decimal("100.00"), 4, Decimal("100.00"), 4)


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


class TestStaffDeleteAProduct:
    """Deleting from the admin is the portal's delete: the pictures' files go with the row."""

    def test_one_product_takes_its_picture_files_with_it(
        self, admin_client, django_capture_on_commit_callbacks, settings, tmp_path
    ):
        settings.MEDIA_ROOT = tmp_path
        product = ProductFactory()
        image = product_image_add(product=product, upload=picture())
        files = [Path(image.image.path), Path(image.thumbnail.path)]
        assert all(path.exists() for path in files)
        with django_capture_on_commit_callbacks(execute=True):
            response = admin_client.post(f"/admin/catalog/product/{product.pk}/delete/", {"post": "yes"})
        assert response.status_code == 302
        assert not Product.objects.filter(pk=product.pk).exists()
        assert not any(path.exists() for path in files)

    def test_the_bulk_action_takes_every_products_files(
        self, admin_client, django_capture_on_commit_callbacks, settings, tmp_path
    ):
        settings.MEDIA_ROOT = tmp_path
        products = [ProductFactory(), ProductFactory()]
        files = []
        for product in products:
            image = product_image_add(product=product, upload=picture())
            files += [Path(image.image.path), Path(image.thumbnail.path)]
        with django_capture_on_commit_callbacks(execute=True):
            response = admin_client.post(
                "/admin/catalog/product/",
                {"action": "delete_selected", "_selected_action": [p.pk for p in products], "post": "yes"},
            )
        assert response.status_code == 302
        assert not Product.objects.filter(pk__in=[p.pk for p in products]).exists()
        assert not any(path.exists() for path in files)
