"""Uploads served from MEDIA_ROOT (no Cloudinary): the file asked for, inside the folder, and nothing else."""

from io import BytesIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils.http import http_date
from PIL import Image

from catalog.services.images import product_image_add
from tests.factories import ProductFactory


@pytest.fixture
def media(settings, tmp_path):
    """MEDIA_ROOT one level down, with a file beside it that a traversal would reach."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MEDIA_ROOT.mkdir()
    (tmp_path / "secret.txt").write_text("DJANGO_SECRET_KEY=not-for-you")
    return settings.MEDIA_ROOT


def body(response) -> bytes:
    return b"".join(response.streaming_content)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("fmt", "content_type"), [("PNG", "image/png"), ("JPEG", "image/jpeg"), ("WEBP", "image/webp")]
)
def test_an_uploaded_product_image_is_served_with_its_content_type_nosniff_and_cache_headers(
    client, media, fmt, content_type
):
    buffer = BytesIO()
    Image.new("RGB", (900, 600), (200, 80, 40)).save(buffer, format=fmt)
    upload = SimpleUploadedFile(f"photo.{fmt.lower()}", buffer.getvalue())
    image = product_image_add(product=ProductFactory(), upload=upload)

    response = client.get(image.image.url)
    assert response.status_code == 200
    assert response["Content-Type"] == content_type
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Cache-Control"] == "public, max-age=86400"
    assert "attachment" not in response.get("Content-Disposition", "")
    with image.image.open("rb") as stored:
        assert body(response) == stored.read()
    assert client.get(image.thumbnail.url).status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        "/media/../secret.txt",
        "/media/%2e%2e/secret.txt",
        "/media/..%2fsecret.txt",
        "/media/%2E%2E%2Fsecret.txt",
        "/media/products/../../secret.txt",
        "/media//etc/passwd",
        "/media/%2fetc%2fpasswd",
        "/media/..%5csecret.txt",
        "/media/%252e%252e/secret.txt",
    ],
)
def test_path_traversal_out_of_the_media_folder_is_a_plain_404(client, media, path):
    response = client.get(path)
    assert response.status_code == 404
    assert b"not-for-you" not in response.content


def test_a_symlink_leading_out_of_the_media_folder_is_not_followed(client, media):
    (media / "innocent.txt").symlink_to(media.parent / "secret.txt")
    assert client.get("/media/innocent.txt").status_code == 404


def test_directories_are_never_listed(client, media):
    (media / "products" / "7").mkdir(parents=True)
    (media / "products" / "7" / "photo.png").write_bytes(b"\x89PNG")
    for path in ("/media/products/", "/media/products/7", "/media/products/7/"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert b"photo.png" not in response.content


def test_dot_files_are_not_served(client, media):
    (media / ".env").write_text("SECRET=1")
    (media / ".cache").mkdir()
    (media / ".cache" / "thumb.png").write_bytes(b"\x89PNG")
    assert client.get("/media/.env").status_code == 404
    assert client.get("/media/.cache/thumb.png").status_code == 404


def test_a_file_that_is_not_an_image_is_offered_as_a_download_never_rendered(client, media):
    """Whatever else lands in the folder cannot run as a page on the shop's origin."""
    (media / "notes.html").write_text("<script>alert(document.cookie)</script>")
    (media / "logo.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>')
    for name, content_type in (("notes.html", "text/html"), ("logo.svg", "image/svg+xml")):
        response = client.get(f"/media/{name}")
        assert response.status_code == 200
        assert response["Content-Type"] == content_type
        assert response["Content-Disposition"].startswith("attachment")
        assert response["X-Content-Type-Options"] == "nosniff"


def test_an_unchanged_file_is_not_sent_again(client, media):
    (media / "photo.png").write_bytes(b"\x89PNG")
    modified = (media / "photo.png").stat().st_mtime
    response = client.get("/media/photo.png", HTTP_IF_MODIFIED_SINCE=http_date(modified))
    assert response.status_code == 304


def test_only_reads_are_allowed(client, media):
    (media / "photo.png").write_bytes(b"\x89PNG")
    assert client.head("/media/photo.png").status_code == 200
    assert client.post("/media/photo.png").status_code == 405
    assert client.delete("/media/photo.png").status_code == 405


def test_a_name_too_long_for_the_filesystem_is_a_404_not_a_500(client, media):
    assert client.get("/media/" + "a" * 5000 + ".png").status_code == 404
