"""Product images: content-checked with Pillow, thumbnails for listings, files cleaned up."""

from io import BytesIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image
from rest_framework.test import APIClient

from accounts.services.sessions import tokens_issue
from catalog.errors import InvalidImage
from catalog.models import ProductImage
from catalog.services.images import product_image_add, product_image_delete, product_images_reorder
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db


def picture(fmt: str = "PNG", size=(900, 600), name: str | None = None) -> SimpleUploadedFile:
    buffer = BytesIO()
    Image.new("RGB", size, (200, 80, 40)).save(buffer, format=fmt)
    extension = {"PNG": "png", "JPEG": "jpg", "WEBP": "webp", "GIF": "gif", "BMP": "bmp"}[fmt]
    return SimpleUploadedFile(name or f"photo.{extension}", buffer.getvalue())


@pytest.fixture
def product():
    return ProductFactory()


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP"])
def test_allowed_formats_are_stored_with_a_small_thumbnail(product, fmt):
    image = product_image_add(product=product, upload=picture(fmt), alt="Front view")
    with Image.open(image.thumbnail.path) as thumb:
        assert max(thumb.size) <= 480
    assert image.image.size > 0 and image.alt == "Front view"


@pytest.mark.parametrize(
    "upload",
    [
        SimpleUploadedFile("notes.jpg", b"this is just text pretending to be a photo"),
        picture("GIF", name="anim.png"),
        picture("BMP", name="scan.jpg"),
    ],
    ids=["text-as-jpg", "gif-as-png", "bmp-as-jpg"],
)
def test_anything_but_jpeg_png_webp_is_refused_by_content(product, upload, tmp_path):
    with pytest.raises(InvalidImage):
        product_image_add(product=product, upload=upload)
    assert not ProductImage.objects.exists()
    assert not any(tmp_path.rglob("*.*"))


def test_images_over_5_mb_are_refused(product):
    big = SimpleUploadedFile("big.png", b"\x89PNG" + b"0" * (5 * 1024 * 1024))
    with pytest.raises(InvalidImage, match="5 MB"):
        product_image_add(product=product, upload=big)


def test_positions_follow_uploads_and_reordering(product):
    first = product_image_add(product=product, upload=picture())
    second = product_image_add(product=product, upload=picture())
    assert (first.position, second.position) == (0, 1)
    product_images_reorder(product=product, ordered_ids=[second.pk, first.pk])
    assert list(product.images.values_list("pk", flat=True)) == [second.pk, first.pk]
    with pytest.raises(InvalidImage):
        product_images_reorder(product=product, ordered_ids=[first.pk])


def test_deleting_an_image_removes_its_files(product, django_capture_on_commit_callbacks):
    image = product_image_add(product=product, upload=picture())
    paths = [image.image.path, image.thumbnail.path]
    with django_capture_on_commit_callbacks(execute=True):
        product_image_delete(image=image)
    assert not ProductImage.objects.exists()
    assert not any(__import__("os").path.exists(p) for p in paths)


class TestImageApi:
    @pytest.fixture
    def seller_api(self, product):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens_issue(user=product.store.user).access}")
        return client

    def test_upload_and_delete(self, seller_api, product):
        response = seller_api.post(
            f"/api/v1/seller/products/{product.pk}/images/", {"image": picture(), "alt": "Side"}, format="multipart"
        )
        assert response.status_code == 201, response.content
        assert response.data["thumbnail_url"].endswith(".webp")
        image_id = response.data["id"]
        assert seller_api.delete(f"/api/v1/seller/products/{product.pk}/images/{image_id}/").status_code == 204

    def test_a_text_file_named_jpg_gets_400(self, seller_api, product):
        fake = SimpleUploadedFile("photo.jpg", b"plain text, not an image", content_type="image/jpeg")
        response = seller_api.post(f"/api/v1/seller/products/{product.pk}/images/", {"image": fake}, format="multipart")
        assert response.status_code == 400
        assert response.data["code"] == "invalid_image"
        assert not ProductImage.objects.exists()

    def test_another_sellers_image_is_404(self, seller_api):
        theirs = product_image_add(product=ProductFactory(), upload=picture())
        url = f"/api/v1/seller/products/{theirs.product_id}/images/{theirs.pk}/"
        assert seller_api.delete(url).status_code == 404
        assert ProductImage.objects.filter(pk=theirs.pk).exists()
