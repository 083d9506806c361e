"""Checking and resizing uploaded product images with Pillow. Pure functions, no storage."""

import uuid
from dataclasses import dataclass
from io import BytesIO

from django.core.files.base import ContentFile
from PIL import Image, ImageOps, UnidentifiedImageError

from catalog.errors import InvalidImage

MAX_IMAGE_BYTES = 5 * 1024 * 1024
MAX_IMAGE_PIXELS = 40_000_000  # well above any phone photo, far below a decompression bomb
ALLOWED_FORMATS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}
THUMBNAIL_BOX = (480, 480)


@dataclass(frozen=True)
class ProcessedImage:
    original: ContentFile
    thumbnail: ContentFile


def image_process(upload) -> ProcessedImage:
    """Trust the bytes, not the file name: Pillow must recognise an allowed format."""
    if upload.size is not None and upload.size > MAX_IMAGE_BYTES:
        raise InvalidImage("The image is larger than 5 MB.")
    data = upload.read(MAX_IMAGE_BYTES + 1)
    if len(data) > MAX_IMAGE_BYTES:
        raise InvalidImage("The image is larger than 5 MB.")
    try:
        with Image.open(BytesIO(data)) as probe:
            image_format = probe.format
            if probe.width * probe.height > MAX_IMAGE_PIXELS:
                raise InvalidImage("The image has too many pixels.")
            probe.verify()
        if image_format not in ALLOWED_FORMATS:
            raise InvalidImage()
        with Image.open(BytesIO(data)) as picture:
            thumbnail = ImageOps.exif_transpose(picture)
            thumbnail.thumbnail(THUMBNAIL_BOX)
            if thumbnail.mode not in ("RGB", "RGBA"):
                thumbnail = thumbnail.convert("RGBA" if "A" in thumbnail.getbands() else "RGB")
            out = BytesIO()
            thumbnail.save(out, format="WEBP", quality=80)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise InvalidImage() from exc
    stem = uuid.uuid4().hex
    return ProcessedImage(
        original=ContentFile(data, name=f"{stem}.{ALLOWED_FORMATS[image_format]}"),
        thumbnail=ContentFile(out.getvalue(), name=f"{stem}-thumb.webp"),
    )
