"""The seller portal's product pages: isolation, forms, stock, images, CSV, query counts."""

import csv
import io
from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from catalog import seller_views
from catalog.errors import InvalidImageOrder
from catalog.models import Product, ProductImage, ProductOption, ProductVariant
from catalog.services.images import product_image_add
from catalog.services.imports import CSV_COLUMNS, CSV_EXPORT_COLUMNS
from catalog.validators import MAX_PRICE
from tests.factories import (
    TEST_PASSWORD,
    CategoryFactory,
    ProductFactory,
    StoreFactory,
    UserFactory,
    VariantFactory,
    only_variant,
    variant_update,
)
from tests.orders.helpers import buy_now, make_buyer

pytestmark = pytest.mark.django_db

BECOME_A_SELLER = "/accounts/become-a-seller/"


def login(client, user):
    response = client.post("/accounts/login/", {"username": user.username, "password": TEST_PASSWORD})
    assert response.status_code == 302, response.content.decode()
    return client


def image_upload(name: str = "photo.png", image_format: str = "PNG") -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), "teal").save(buffer, format=image_format)
    return SimpleUploadedFile(name, buffer.getvalue(), content_type=f"image/{image_format.lower()}")


def text_named_jpg() -> SimpleUploadedFile:
    return SimpleUploadedFile("photo.jpg", b"this is not an image at all", content_type="image/jpeg")


def flashes(response) -> list[str]:
    """The response's flash messages, less the login's greeting that no page has shown yet."""
    messages = (str(message) for message in get_messages(response.wsgi_request))
    return [message for message in messages if not message.startswith("Welcome back")]


def media_files(root) -> list:
    return [path for path in root.rglob("*") if path.is_file()]


@pytest.fixture
def store():
    return StoreFactory(name="Kanchi Looms")


@pytest.fixture
def sarees():
    return CategoryFactory(name="Sarees", slug="sarees")


@pytest.fixture
def product(store, sarees):
    return ProductFactory(store=store, category=sarees, title="Silk saree", sku="SILK-1", stock=10)


@pytest.fixture
def seller_client(client, store):
    return login(client, store.user)


def edit_url(product) -> str:
    return reverse("seller:product_edit", kwargs={"product_id": product.pk})


def product_form(category, **overrides) -> dict:
    return {
        "title": "Cotton saree",
        "description": "Handloom cotton.",
        "category": category.pk,
        "brand": "Kanchi",
        "sku": "COTTON-1",
        "price": "1299.00",
        "mrp": "",
        **overrides,
    }


# --- Guards and isolation --------------------------------------------------------------

PRODUCT_PAGES = [
    "seller:product_edit",
    "seller:product_stock",
    "seller:product_toggle_active",
    "seller:product_delete",
    "seller:product_image_upload",
    "seller:product_options",
    "seller:product_variants",
    "seller:product_variant_add",
]
IMAGE_PAGES = ["seller:product_image_move", "seller:product_image_delete"]
STORE_PAGES = ["seller:products", "seller:product_create", "seller:products_import", "seller:products_export"]


@pytest.fixture
def others_image(media_root):
    """Another seller's product with one image."""
    other = ProductFactory(title="Not yours", stock=5)
    return product_image_add(product=other, upload=image_upload())


def page_url(name: str, image: ProductImage) -> str:
    if name in IMAGE_PAGES:
        return reverse(name, kwargs={"product_id": image.product_id, "image_id": image.pk})
    if name in PRODUCT_PAGES:
        return reverse(name, kwargs={"product_id": image.product_id})
    return reverse(name)


@pytest.mark.parametrize("method", ["get", "post"])
@pytest.mark.parametrize("name", PRODUCT_PAGES + IMAGE_PAGES + STORE_PAGES)
def test_non_sellers_are_sent_to_become_a_seller(client, others_image, name, method):
    login(client, UserFactory())
    response = getattr(client, method)(page_url(name, others_image))
    assert response.status_code == 302
    assert response.url == BECOME_A_SELLER


@pytest.mark.parametrize("method", ["get", "post"])
@pytest.mark.parametrize("name", PRODUCT_PAGES + IMAGE_PAGES)
def test_another_sellers_product_or_image_answers_404(seller_client, others_image, name, method):
    other_product = others_image.product
    data = {"delta": "5", "mode": "adjust", "direction": "down", "title": "Mine now", "image": image_upload()}
    response = getattr(seller_client, method)(page_url(name, others_image), data if method == "post" else None)

    assert response.status_code == 404
    other_product.refresh_from_db()
    assert (other_product.title, other_product.stock, other_product.is_active) == ("Not yours", 5, True)
    assert list(other_product.images.values_list("pk", flat=True)) == [others_image.pk]


def test_an_image_must_belong_to_the_product_in_the_url(seller_client, product, others_image):
    url = reverse("seller:product_image_delete", kwargs={"product_id": product.pk, "image_id": others_image.pk})
    assert seller_client.post(url).status_code == 404
    assert ProductImage.objects.filter(pk=others_image.pk).exists()


def test_anonymous_visitors_go_to_the_login_page(client):
    response = client.get(reverse("seller:products"))
    assert response.status_code == 302
    assert response.url.startswith("/accounts/login/")


# --- The product list ------------------------------------------------------------------


class TestProductList:
    def test_shows_own_products_with_price_stock_badges_and_status(self, seller_client, store, sarees):
        ProductFactory(store=store, category=sarees, title="Low one", stock=3, price=Decimal("123456.00"))
        ProductFactory(store=store, category=sarees, title="Sold out", stock=0, is_active=False)
        ProductFactory(title="Another seller's lamp")

        response = seller_client.get(reverse("seller:products"))

        html = response.content.decode()
        assert response.status_code == 200
        assert [p.title for p in response.context["products"]] == ["Sold out", "Low one"]
        assert "Another seller" not in html
        assert "₹1,23,456.00" in html
        assert html.count('data-testid="low-stock"') == 1
        assert html.count('data-testid="out-of-stock"') == 1
        assert "Inactive" in html
        assert reverse("seller:products_import") in html
        assert reverse("seller:products_export") in html

    def test_search_and_status_filter(self, seller_client, store, sarees):
        ProductFactory(store=store, category=sarees, title="Silk saree", stock=2)
        ProductFactory(store=store, category=sarees, title="Silk stole", stock=40)
        ProductFactory(store=store, category=sarees, title="Cotton saree", stock=1)

        response = seller_client.get(reverse("seller:products"), {"q": "silk", "status": "low"})

        assert [p.title for p in response.context["products"]] == ["Silk saree"]

    def test_pagination_keeps_the_search_and_filter(self, seller_client, store, sarees):
        ProductFactory.create_batch(30, store=store, category=sarees, title="Silk saree", stock=0)

        response = seller_client.get(reverse("seller:products"), {"q": "silk", "status": "out"})

        assert len(response.context["products"]) == 25
        assert 'href="?q=silk&amp;status=out&amp;page=2"' in response.content.decode()
        second = seller_client.get(reverse("seller:products"), {"q": "silk", "status": "out", "page": 2})
        assert len(second.context["products"]) == 5

    def test_empty_states(self, seller_client, store, sarees):
        response = seller_client.get(reverse("seller:products"))
        assert 'data-testid="seller-products-empty"' in response.content.decode()
        assert reverse("seller:product_create") in response.content.decode()

        ProductFactory(store=store, category=sarees, stock=50)
        filtered = seller_client.get(reverse("seller:products"), {"status": "out"})
        assert "No products match" in filtered.content.decode()

    def test_query_count_does_not_grow_with_rows(self, seller_client, store, sarees, assert_flat_query_count):
        def add_products(count: int) -> None:
            for product in ProductFactory.create_batch(count, store=store, category=sarees):
                ProductImage.objects.create(product=product, image="products/a.png", thumbnail="products/a.webp")

        add_products(5)
        assert_flat_query_count(
            lambda: seller_client.get(reverse("seller:products")), lambda: add_products(25), max_queries=6
        )

    def test_the_portal_nav_links_to_products_and_import(self, seller_client):
        html = seller_client.get(reverse("seller:home")).content.decode()
        assert f'href="{reverse("seller:products")}"' in html
        assert f'href="{reverse("seller:products_import")}"' in html


# --- Creating and editing ----------------------------------------------------------------


class TestCreate:
    def test_create_with_a_first_image(self, seller_client, store, sarees, media_root):
        response = seller_client.post(
            reverse("seller:product_create"),
            {**product_form(sarees, mrp="1499.00"), "stock": "12", "image": image_upload(), "image_alt": "Folded"},
        )

        product = Product.objects.get(variants__sku="COTTON-1")
        assert response.status_code == 302
        assert response.url == edit_url(product)
        assert any("is saved" in message for message in flashes(response))
        assert (product.store, product.stock, product.mrp, product.is_active) == (store, 12, Decimal("1499.00"), True)
        image = product.images.get()
        assert image.alt == "Folded"
        assert (media_root / image.image.name).is_file()
        assert (media_root / image.thumbnail.name).is_file()

    def test_a_text_file_named_jpg_is_a_form_error_and_nothing_is_saved(self, seller_client, sarees, media_root):
        response = seller_client.post(
            reverse("seller:product_create"), {**product_form(sarees), "stock": "1", "image": text_named_jpg()}
        )

        assert response.status_code == 200
        assert "JPEG, PNG or WebP" in response.context["form"].errors["image"][0]
        assert not Product.objects.exists()
        assert not ProductImage.objects.exists()
        assert media_files(media_root) == []

    def test_another_sellers_sku_in_another_case_is_a_form_error(self, seller_client, sarees):
        ProductFactory(sku="COTTON-1")
        response = seller_client.post(
            reverse("seller:product_create"), {**product_form(sarees, sku="cotton-1"), "stock": "1"}
        )
        assert response.status_code == 200
        assert "unique across all sellers" in response.context["form"].errors["sku"][0]
        assert Product.objects.count() == 1

    @pytest.mark.parametrize(
        ("overrides", "field"),
        [
            ({"price": "0"}, "price"),
            ({"price": "-5"}, "price"),
            ({"price": "10.555"}, "price"),
            ({"price": "abc"}, "price"),
            ({"mrp": "1000.00"}, "mrp"),
            ({"stock": "-1"}, "stock"),
            ({"category": "999999"}, "category"),
        ],
    )
    def test_form_validation(self, seller_client, sarees, overrides, field):
        data = {**product_form(sarees), "stock": "1", **overrides}
        response = seller_client.post(reverse("seller:product_create"), data)
        assert response.status_code == 200
        assert list(response.context["form"].errors) == [field]
        assert not Product.objects.exists()

    def test_if_storing_the_checked_image_fails_the_product_is_undone(
        self, seller_client, sarees, media_root, monkeypatch
    ):
        def storage_down(**kwargs):
            raise OSError("storage unavailable")

        monkeypatch.setattr(seller_views, "product_image_add", storage_down)
        with pytest.raises(OSError):
            seller_client.post(
                reverse("seller:product_create"), {**product_form(sarees), "stock": "1", "image": image_upload()}
            )
        assert not Product.objects.exists()

    def test_the_create_page_uploads_files(self, seller_client):
        html = seller_client.get(reverse("seller:product_create")).content.decode()
        assert 'enctype="multipart/form-data"' in html
        assert 'name="stock"' in html


class TestEdit:
    def test_edit_saves_the_changed_details(self, seller_client, product, sarees):
        data = product_form(sarees, title="Kanjivaram silk saree", sku="SILK-1", price="8999.00", mrp="9999.00")
        response = seller_client.post(edit_url(product), data)

        assert response.status_code == 302
        assert "Changes saved." in flashes(response)
        product.refresh_from_db()
        assert (product.title, product.price, product.mrp) == ("Kanjivaram silk saree", 8999, 9999)
        assert product.stock == 10

    def test_the_edit_page_shows_the_product_without_a_stock_field(self, seller_client, product):
        response = seller_client.get(edit_url(product))
        assert response.status_code == 200
        assert response.context["form"].initial["sku"] == "SILK-1"
        assert "stock" not in response.context["form"].fields
        assert 'name="expected" value="10"' in response.content.decode()

    def test_a_taken_sku_is_a_form_error_and_changes_nothing(self, seller_client, product, sarees):
        ProductFactory(sku="TAKEN-1")
        response = seller_client.post(edit_url(product), product_form(sarees, title="New title", sku="taken-1"))

        assert response.status_code == 200
        assert "sku" in response.context["form"].errors
        assert response.context["form"]["sku"].value() == "taken-1"  # the seller's input, kept to fix
        product.refresh_from_db()
        assert (product.title, only_variant(product).sku) == ("Silk saree", "SILK-1")


class TestPriceCap:
    """Ten of the dearest product must fit an order's 12-digit total, so prices stop at MAX_PRICE."""

    @pytest.mark.parametrize(
        ("overrides", "field"),
        [
            ({"price": str(MAX_PRICE + Decimal("0.01"))}, "price"),
            ({"price": "9999999999.99"}, "price"),  # the column's own maximum
            ({"price": "1" * 40}, "price"),
            ({"mrp": str(MAX_PRICE + Decimal("0.01"))}, "mrp"),
        ],
    )
    def test_a_price_above_the_cap_is_a_form_error_and_saves_nothing(self, seller_client, sarees, overrides, field):
        response = seller_client.post(
            reverse("seller:product_create"), {**product_form(sarees), "stock": "1", **overrides}
        )
        assert response.status_code == 200
        assert response.context["form"].errors[field] == [
            f"The {'price' if field == 'price' else 'MRP'} can be at most ₹9,99,99,999.99."
        ]
        assert not Product.objects.exists()

    def test_exactly_the_cap_is_accepted(self, seller_client, sarees):
        data = {**product_form(sarees, price=str(MAX_PRICE), mrp=str(MAX_PRICE)), "stock": "1"}
        assert seller_client.post(reverse("seller:product_create"), data).status_code == 302
        assert Product.objects.get().price == MAX_PRICE

    def test_raising_a_price_above_the_cap_on_the_edit_page_changes_nothing(self, seller_client, product, sarees):
        response = seller_client.post(edit_url(product), product_form(sarees, sku="SILK-1", price="100000000.00"))
        assert response.status_code == 200
        assert "price" in response.context["form"].errors
        product.refresh_from_db()
        assert product.price == Decimal("499.00")

    def test_a_sku_outside_the_pattern_is_a_form_error(self, seller_client, sarees):
        response = seller_client.post(
            reverse("seller:product_create"), {**product_form(sarees, sku="=HYPERLINK(1)"), "stock": "1"}
        )
        assert response.status_code == 200
        assert "letters, digits" in response.context["form"].errors["sku"][0]
        assert not Product.objects.exists()


# --- Stock --------------------------------------------------------------------------------


class TestStock:
    def stock_url(self, product) -> str:
        return reverse("seller:product_stock", kwargs={"product_id": product.pk})

    def test_add_and_remove_by_delta(self, seller_client, product):
        response = seller_client.post(self.stock_url(product), {"mode": "adjust", "delta": "5"})
        assert response.status_code == 302
        assert response.url == edit_url(product) + "#stock"
        assert "Stock is now 15." in flashes(response)

        seller_client.post(self.stock_url(product), {"mode": "adjust", "delta": "-3"})
        product.refresh_from_db()
        assert product.stock == 12

    def test_removing_more_than_there_is_is_refused_with_the_current_stock(self, seller_client, product):
        response = seller_client.post(self.stock_url(product), {"mode": "adjust", "delta": "-11"})
        assert any("Only 10 in stock" in message for message in flashes(response))
        product.refresh_from_db()
        assert product.stock == 10

    def test_set_applies_when_the_stock_is_still_what_the_page_showed(self, seller_client, product):
        response = seller_client.post(self.stock_url(product), {"mode": "set", "value": "40", "expected": "10"})
        assert "Stock is now 40." in flashes(response)
        product.refresh_from_db()
        assert product.stock == 40

    def test_set_after_a_sale_is_a_conflict_that_changes_nothing(self, seller_client, product):
        variant_update(only_variant(product), stock=8)  # a sale while the page was open
        response = seller_client.post(self.stock_url(product), {"mode": "set", "value": "40", "expected": "10"})

        [message] = flashes(response)
        assert "Stock not changed" in message
        assert "now 8" in message
        product.refresh_from_db()
        assert product.stock == 8

    @pytest.mark.parametrize(
        "data", [{"mode": "adjust", "delta": "0"}, {"mode": "adjust", "delta": "x"}, {"mode": "set", "value": "-1"}]
    )
    def test_bad_input_is_a_flash_error(self, seller_client, product, data):
        response = seller_client.post(self.stock_url(product), {"expected": "10", **data})
        assert response.status_code == 302
        assert len(flashes(response)) == 1
        product.refresh_from_db()
        assert product.stock == 10


# --- Visibility and deletion ---------------------------------------------------------------


def test_toggle_active_deactivates_and_reactivates(seller_client, product):
    url = reverse("seller:product_toggle_active", kwargs={"product_id": product.pk})

    response = seller_client.post(url)
    product.refresh_from_db()
    assert product.is_active is False
    assert any("inactive" in message for message in flashes(response))

    seller_client.post(url)
    product.refresh_from_db()
    assert product.is_active is True


def test_toggle_needs_post(seller_client, product):
    response = seller_client.get(reverse("seller:product_toggle_active", kwargs={"product_id": product.pk}))
    assert response.status_code == 405


def test_delete_asks_then_deletes_the_product_and_its_images(
    seller_client, product, media_root, django_capture_on_commit_callbacks
):
    product_image_add(product=product, upload=image_upload())
    url = reverse("seller:product_delete", kwargs={"product_id": product.pk})

    confirm = seller_client.get(url)
    assert confirm.status_code == 200
    assert "Delete this product?" in confirm.content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        response = seller_client.post(url)
    assert response.status_code == 302
    assert response.url == reverse("seller:products")
    assert any("has been deleted" in message for message in flashes(response))
    assert not Product.objects.filter(pk=product.pk).exists()
    assert media_files(media_root) == []


def test_deleting_a_product_with_sales_deactivates_it_and_says_so(seller_client, product, monkeypatch):
    """Sales protect a product (order lines point at it); the service then deactivates it and returns False."""
    monkeypatch.setattr(seller_views, "product_delete", lambda *, product: False)
    response = seller_client.post(reverse("seller:product_delete", kwargs={"product_id": product.pk}))
    assert response.url == reverse("seller:products")
    assert any("deactivated instead" in message for message in flashes(response))


def test_deleting_a_product_with_open_orders_is_refused_with_a_message(seller_client, product):
    """The real service, not a stub: an order still to deliver keeps the product, active."""
    buy_now(make_buyer(), product)
    response = seller_client.post(reverse("seller:product_delete", kwargs={"product_id": product.pk}))
    assert response.status_code == 302
    assert response.url == f"{edit_url(product)}#visibility"
    assert any("was not deleted" in message and "orders still to deliver" in message for message in flashes(response))
    product.refresh_from_db()
    assert product.is_active is True


# --- Images -------------------------------------------------------------------------------


class TestImages:
    def upload_url(self, product) -> str:
        return reverse("seller:product_image_upload", kwargs={"product_id": product.pk})

    def test_upload_adds_an_image_with_a_thumbnail(self, seller_client, product, media_root):
        response = seller_client.post(
            self.upload_url(product), {"image": image_upload("p.jpg", "JPEG"), "alt": "Front"}
        )

        assert response.url == edit_url(product) + "#images"
        assert "Image added." in flashes(response)
        image = product.images.get()
        assert image.alt == "Front"
        page = seller_client.get(edit_url(product)).content.decode()
        assert image.thumbnail.url in page

    def test_a_text_file_named_jpg_is_refused_and_nothing_is_saved(self, seller_client, product, media_root):
        response = seller_client.post(self.upload_url(product), {"image": text_named_jpg()})

        [message] = flashes(response)
        assert "JPEG, PNG or WebP" in message
        assert "5 MB" in message
        assert not product.images.exists()
        assert media_files(media_root) == []

    def test_the_ninth_image_is_refused(self, seller_client, product, media_root):
        for _ in range(8):
            ProductImage.objects.create(product=product, image="products/a.png", thumbnail="products/a.webp")
        assert 'name="image"' not in seller_client.get(edit_url(product)).content.decode()

        response = seller_client.post(self.upload_url(product), {"image": image_upload()})

        assert any("at most 8 images" in message for message in flashes(response))
        assert product.images.count() == 8

    def test_move_up_and_down(self, seller_client, product, media_root):
        first, second, third = (product_image_add(product=product, upload=image_upload()) for _ in range(3))

        def move(image, direction):
            url = reverse("seller:product_image_move", kwargs={"product_id": product.pk, "image_id": image.pk})
            return seller_client.post(url, {"direction": direction})

        def order() -> list[int]:
            return list(product.images.values_list("pk", flat=True))

        move(third, "up")
        assert order() == [first.pk, third.pk, second.pk]
        move(first, "down")
        assert order() == [third.pk, first.pk, second.pk]
        move(third, "up")  # already first: stays
        assert order() == [third.pk, first.pk, second.pk]
        response = move(second, "sideways")
        assert response.status_code == 302
        assert order() == [third.pk, first.pk, second.pk]

    def test_a_move_racing_another_change_is_a_flash_error(self, seller_client, product, media_root, monkeypatch):
        image = product_image_add(product=product, upload=image_upload())

        def stale(**kwargs):
            raise InvalidImageOrder()

        monkeypatch.setattr(seller_views, "product_image_move", stale)
        url = reverse("seller:product_image_move", kwargs={"product_id": product.pk, "image_id": image.pk})
        response = seller_client.post(url, {"direction": "down"})
        assert response.status_code == 302
        assert any("changed meanwhile" in message for message in flashes(response))

    def test_delete_an_image(self, seller_client, product, media_root, django_capture_on_commit_callbacks):
        image = product_image_add(product=product, upload=image_upload())
        url = reverse("seller:product_image_delete", kwargs={"product_id": product.pk, "image_id": image.pk})

        with django_capture_on_commit_callbacks(execute=True):
            response = seller_client.post(url)

        assert "Image deleted." in flashes(response)
        assert not product.images.exists()
        assert media_files(media_root) == []


# --- CSV export and import ---------------------------------------------------------------


class TestCsvPages:
    def test_export_streams_one_row_per_variant_of_only_the_sellers_products(self, seller_client, product, sarees):
        ProductFactory(
            store=product.store, category=sarees, slug="mrp", title="Lamp", sku="MRP-1", mrp=Decimal("999.00")
        )
        VariantFactory(product=product, sku="SILK-2", option1="Green", price=Decimal("599.00"), stock=2, position=1)
        Product.objects.filter(pk=product.pk).update(slug="silk-saree")
        ProductOption.objects.create(product=product, position=1, name="Colour", values=["Maroon", "Green"])
        variant_update(ProductVariant.objects.get(sku="SILK-1"), option1="Maroon")
        ProductFactory(sku="NOT-MINE")

        response = seller_client.get(reverse("seller:products_export"))

        assert response.status_code == 200
        assert response["Content-Type"] == "text/csv; charset=utf-8"
        assert "attachment" in response["Content-Disposition"]
        text = b"".join(response.streaming_content).decode("utf-8-sig")
        rows = list(csv.DictReader(io.StringIO(text)))
        assert tuple(rows[0]) == CSV_EXPORT_COLUMNS
        assert [
            (r["handle"], r["title"], r["option1_name"], r["option1_value"], r["sku"], r["price"], r["mrp"], r["stock"])
            for r in rows
        ] == [
            ("silk-saree", "Silk saree", "Colour", "Maroon", "SILK-1", "499.00", "", "10"),
            ("silk-saree", "", "", "Green", "SILK-2", "599.00", "", "2"),
            ("mrp", "Lamp", "", "", "MRP-1", "499.00", "999.00", "10"),
        ]
        assert [(r["category"], r["is_active"]) for r in rows] == [("sarees", "true"), ("", "true"), ("sarees", "true")]

    def test_export_writes_formula_like_titles_as_text(self, seller_client, product, sarees):
        ProductFactory(store=product.store, category=sarees, sku="F-1", title='=HYPERLINK("http://evil.example")')
        response = seller_client.get(reverse("seller:products_export"))
        rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
        assert [row["title"] for row in rows] == ["Silk saree", '\'=HYPERLINK("http://evil.example")']

    def test_import_page_documents_the_columns(self, seller_client):
        html = seller_client.get(reverse("seller:products_import")).content.decode()
        for column in CSV_COLUMNS:
            assert f"<code>{column}</code>" in html
        assert 'enctype="multipart/form-data"' in html
        assert "at most ₹9,99,99,999.99" in html and "above 1,000,000" in html

    def test_import_success_shows_a_summary(self, seller_client, product, sarees):
        handle = product.slug
        file = SimpleUploadedFile(
            "products.csv",
            f"handle,sku,title,category,price\n{handle},SILK-1,Silk saree v2,sarees,499\nnew,NEW-1,New,sarees,10\n".encode(),
        )
        response = seller_client.post(reverse("seller:products_import"), {"file": file})

        assert response.status_code == 302
        assert response.url == reverse("seller:products")
        assert "Import finished: 1 created, 1 updated, 0 unchanged." in flashes(response)
        assert Product.objects.filter(store=product.store).count() == 2

    def test_import_errors_are_listed_by_line_and_nothing_is_imported(self, seller_client, product, sarees):
        file = SimpleUploadedFile(
            "products.csv",
            b"handle,sku,title,category,price\nnew-1,NEW-1,New,sarees,10\nnew-2,NEW-2,Bad,sarees,0\n"
            b"new-3,NEW-3,,nope,10\n",
        )
        response = seller_client.post(reverse("seller:products_import"), {"file": file})

        html = response.content.decode()
        assert response.status_code == 200
        assert "Nothing was imported" in html
        assert "<strong>Line 3:</strong> price: the price must be above ₹0." in html
        assert "<strong>Line 4:</strong> title: required." in html
        assert response.context["error_count"] == 3
        assert Product.objects.count() == 1

    def test_import_with_a_nul_in_a_category_cell_lists_it_and_imports_nothing(self, seller_client, product, sarees):
        """On PostgreSQL the cell reached the category lookup and the page answered 500."""
        file = SimpleUploadedFile("products.csv", b"handle,sku,title,category,price\nnew,NEW-1,New,sar\x00ees,10\n")
        response = seller_client.post(reverse("seller:products_import"), {"file": file})

        assert response.status_code == 200
        assert "<strong>Line 2:</strong> category: Text cannot contain NUL characters." in response.content.decode()
        assert Product.objects.count() == 1
