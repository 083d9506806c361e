"""Product images. Files go to storage (local or Cloudinary) outside any transaction."""

from django.db import DatabaseError, transaction
from django.db.models import Max

from catalog.cache import bump_after_commit
from catalog.errors import InvalidImage, InvalidImageOrder, TooManyImages
from catalog.images import image_process
from catalog.locks import product_lock
from catalog.models import MAX_ALT_LENGTH, Product, ProductImage

MAX_IMAGES_PER_PRODUCT = 8


def _check_room_for_another_image(product: Product) -> None:
    if product.images.count() >= MAX_IMAGES_PER_PRODUCT:
        raise TooManyImages(f"A product can have at most {MAX_IMAGES_PER_PRODUCT} images.")


def product_image_add(*, product: Product, upload, alt: str = "") -> ProductImage:
    _check_room_for_another_image(product)  # early, before the upload costs anything
    processed = image_process(upload)
    image = ProductImage(product=product, alt=alt.strip()[:MAX_ALT_LENGTH] or product.title[:MAX_ALT_LENGTH])
    image.image.save(processed.original.name, processed.original, save=False)
    image.thumbnail.save(processed.thumbnail.name, processed.thumbnail, save=False)
    try:
        with transaction.atomic():
            product_lock(product_id=product.pk)
            _check_room_for_another_image(product)  # again under the lock: uploads may race
            last = product.images.aggregate(last=Max("position"))["last"]
            image.position = 0 if last is None else last + 1
            image.save()
            bump_after_commit(product_ids=[product.pk])
    except (DatabaseError, InvalidImage):
        # No row points at the files, so they must not linger in storage.
        image.image.delete(save=False)
        image.thumbnail.delete(save=False)
        raise
    return image


def product_image_delete(*, image: ProductImage) -> None:
    original, thumbnail = image.image, image.thumbnail
    with transaction.atomic():
        product_id = image.product_id
        image.delete()
        bump_after_commit(product_ids=[product_id])

        def delete_files() -> None:
            original.delete(save=False)
            thumbnail.delete(save=False)

        transaction.on_commit(delete_files)


def product_images_reorder(*, product: Product, ordered_ids: list[int]) -> None:
    """Positions follow `ordered_ids`, which must name each of the product's images once."""
    with transaction.atomic():
        product_lock(product_id=product.pk)
        _reorder_locked(product, ordered_ids)


def _reorder_locked(product: Product, ordered_ids: list[int]) -> None:
    images = {image.pk: image for image in product.images.all()}
    if sorted(ordered_ids) != sorted(images):
        raise InvalidImageOrder()
    for position, image_id in enumerate(ordered_ids):
        images[image_id].position = position
    ProductImage.objects.bulk_update(images.values(), ["position"])
    bump_after_commit(product_ids=[product.pk])


def product_image_move(*, image: ProductImage, offset: int) -> None:
    """Move an image one place earlier (-1) or later (+1); the buttons work without JavaScript."""
    product = image.product
    with transaction.atomic():
        # Read the order under the same lock that writes it, so a concurrent upload can't interleave.
        product_lock(product_id=product.pk)
        ordered = list(product.images.values_list("pk", flat=True))
        index = ordered.index(image.pk)
        target = min(max(index + offset, 0), len(ordered) - 1)
        ordered.insert(target, ordered.pop(index))
        _reorder_locked(product, ordered)
