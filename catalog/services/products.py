"""Creating and editing products. Stock lives in `stock.py`, images in `images.py`, variants in `variants.py`.

A product is created with one variant, which holds its SKU, prices and stock. While a product has
only that variant, `product_update` edits the variant's SKU and prices too, so a shop without
options never has to think about variants.
"""

from decimal import Decimal

from django.contrib.postgres.search import SearchVector
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import OuterRef, ProtectedError, QuerySet, StringAgg, Subquery, Value
from django.db.models.functions import Concat
from django.utils import timezone
from django.utils.text import slugify

from accounts.models import Store
from catalog.cache import bump_after_commit
from catalog.errors import (
    DuplicateSku,
    InvalidCategory,
    InvalidPrice,
    InvalidSku,
    InvalidStock,
    ProductHasOpenOrders,
)
from catalog.locks import product_lock
from catalog.models import Category, Product, ProductVariant
from catalog.selectors import sku_taken
from catalog.services.stock import only_variant
from catalog.services.summary import product_summary_refresh
from catalog.validators import (
    validate_mrp,
    validate_mrp_not_below_price,
    validate_price,
    validate_sku,
    validate_stock,
)
from orders.models import OrderItem, OrderItemStatus

PRODUCT_FIELDS = ("title", "description", "category", "brand", "is_active")
# Of the product's only variant; a product with several edits them per variant.
VARIANT_FIELDS = ("sku", "price", "mrp")
EDITABLE_FIELDS = PRODUCT_FIELDS + VARIANT_FIELDS


def _active_variant_words() -> Subquery:
    """The option values and SKUs of a product's active variants as one text ("M Blue KUR-M L Blue KUR-L")."""
    words = Concat("option1", Value(" "), "option2", Value(" "), "option3", Value(" "), "sku")
    return Subquery(
        ProductVariant.objects.filter(product_id=OuterRef("pk"), is_active=True)
        .order_by()
        .values("product_id")
        # In variant order: unordered, the words' positions in the document would follow the query plan.
        .annotate(text=StringAgg(words, delimiter=Value(" "), order_by=("position", "id")))
        .values("text")[:1]
    )


def search_vector_refresh(products: QuerySet[Product]) -> None:
    """Weighted full-text document: title outranks brand and the variants' words, which outrank description.

    Option values and SKUs go in under the `simple` configuration, word for word: the english one would
    drop sizes such as "S" as stop words and stem codes. `catalog.filters` searches both configurations.
    The variant services call it whenever a variant's values or active flag change."""
    if connection.vendor != "postgresql":
        return
    products.update(
        search_vector=SearchVector("title", weight="A", config="english")
        + SearchVector("brand", weight="B", config="english")
        + SearchVector(_active_variant_words(), weight="B", config="simple")
        + SearchVector("description", weight="C", config="english")
    )


def slug_base(title: str, sku: str) -> str:
    """Title and SKU make a readable slug that is almost always unique already."""
    base = slugify(title)[:150] or "product"
    return f"{base}-{slugify(sku)[:60] or 'item'}"


def _unique_slug(title: str, sku: str) -> str:
    base = slug_base(title, sku)
    slug, suffix = base, 2
    while Product.objects.filter(slug=slug).exists():
        slug, suffix = f"{base}-{suffix}", suffix + 1
    return slug


def prices_check(price: Decimal, mrp: Decimal | None, *, changed: tuple[str, ...] = ("price", "mrp")) -> None:
    """The prices being set, and MRP against price. A price stored before today's cap is left alone
    until it changes, so such a product can still be renamed or deactivated."""
    try:
        if "price" in changed:
            validate_price(price)
        if "mrp" in changed and mrp is not None:
            validate_mrp(mrp)
        validate_mrp_not_below_price(price=price, mrp=mrp)
    except ValidationError as exc:
        raise InvalidPrice(exc.messages[0]) from exc


def stock_check(stock: int) -> None:
    try:
        validate_stock(stock)
    except ValidationError as exc:
        raise InvalidStock(f"Opening stock: {exc.messages[0][:1].lower()}{exc.messages[0][1:]}") from exc


def sku_check(sku: str) -> None:
    try:
        validate_sku(sku)
    except ValidationError as exc:
        raise InvalidSku(exc.messages[0]) from exc


def _check_category(category: Category | None) -> None:
    if category is None or not isinstance(category, Category) or category.pk is None:
        raise InvalidCategory()


def product_create(
    *,
    store: Store,
    title: str,
    category: Category,
    sku: str,
    price: Decimal,
    stock: int = 0,
    description: str = "",
    brand: str = "",
    mrp: Decimal | None = None,
    is_active: bool = True,
) -> Product:
    sku = sku.strip()
    sku_check(sku)
    prices_check(price, mrp)
    stock_check(stock)
    _check_category(category)
    if sku_taken(sku):
        raise DuplicateSku()
    product = Product(
        store=store,
        title=title.strip(),
        slug=_unique_slug(title, sku),
        description=description.strip(),
        category=category,
        brand=brand.strip(),
        price=price,
        price_max=price,
        mrp=mrp,
        stock=stock,
        is_active=is_active,
    )
    try:
        with transaction.atomic():
            product.save()
            ProductVariant.objects.create(product=product, sku=sku, price=price, mrp=mrp, stock=stock)
            search_vector_refresh(Product.objects.filter(pk=product.pk))
            # Listings only: no page showed it yet, and a web address naming nothing is never cached.
            bump_after_commit(product_ids=[product.pk])
    except IntegrityError as exc:
        # The only unique rule a valid product can break here is a concurrent twin SKU.
        raise DuplicateSku() from exc
    return product


def product_update(*, product: Product, **changes) -> Product:
    """Edit a product's details, and the SKU and prices of its only variant. Stock is not editable
    here: see `stock.py`. Changing a variant field of a product with several variants is `VariantRequired`."""
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValueError(f"not editable here: {', '.join(sorted(unknown))}")
    changes = {name: value.strip() if isinstance(value, str) else value for name, value in changes.items()}
    variant_changes = {name: changes.pop(name) for name in VARIANT_FIELDS if name in changes}
    variant = only_variant(product) if variant_changes else None
    # Check the would-be values first: a refused edit leaves the caller's object untouched.
    if variant is not None:
        prices_check(
            variant_changes.get("price", variant.price),
            variant_changes.get("mrp", variant.mrp),
            changed=tuple(name for name in ("price", "mrp") if name in variant_changes),
        )
        if "sku" in variant_changes:
            sku_check(variant_changes["sku"])
            if sku_taken(variant_changes["sku"], exclude_variant=variant):
                raise DuplicateSku()
    _check_category(changes.get("category", product.category))
    previous = {name: getattr(product, name) for name in changes}
    for name, value in changes.items():
        setattr(product, name, value)
    try:
        with transaction.atomic():
            product_lock(product_id=product.pk)
            # Never write the summary from this (possibly stale) object: sales may have changed it.
            product.save(update_fields=[*changes.keys(), "updated_at"])
            if variant is not None:
                ProductVariant.objects.filter(pk=variant.pk).update(**variant_changes, updated_at=timezone.now())
                product_summary_refresh(product_ids=[product.pk])
                summary = Product.objects.filter(pk=product.pk).values("price", "price_max", "mrp").get()
                for name, value in summary.items():
                    setattr(product, name, value)
            search_vector_refresh(Product.objects.filter(pk=product.pk))
            # Shown or hidden: whether its web address names a visible product.
            bump_after_commit(product_ids=[product.pk], structure="is_active" in changes)
    except IntegrityError as exc:
        for name, value in previous.items():
            setattr(product, name, value)
        raise DuplicateSku() from exc
    return product


def product_set_active(*, product: Product, is_active: bool) -> Product:
    return product_update(product=product, is_active=is_active)


# Order items that need nothing more from the seller: a rejected return waits on the buyer alone, like a
# delivery; an escalation reopens it.
SETTLED_ITEM_STATUSES = frozenset(
    {OrderItemStatus.CANCELLED, OrderItemStatus.DELIVERED, OrderItemStatus.RETURN_REJECTED, OrderItemStatus.RETURNED}
)


def product_delete(*, product: Product) -> bool:
    """Delete a product that never sold; one whose sales are all settled is deactivated instead.

    A product with an open order item (on its way, or a return the seller or staff must still act on
    or refund) is refused with `ProductHasOpenOrders` (409): those orders still need it, and the
    seller should not lose sight of them. Otherwise sales protect their product (order lines point at it
    with on_delete=PROTECT), so the database itself says whether a product has sold.
    The product row is locked first, so a checkout of it either finishes before (and its
    items count as open) or finds the product gone. Returns True when it was deleted.
    """
    files = [(image.image, image.thumbnail) for image in product.images.all()]
    product_id = product.pk
    try:
        with transaction.atomic():
            product_lock(product_id=product_id)
            open_items = OrderItem.objects.filter(product_id=product_id).exclude(status__in=SETTLED_ITEM_STATUSES)
            if open_items.exists():
                raise ProductHasOpenOrders()
            product.delete()
            # Its web address is free for another product now.
            bump_after_commit(product_ids=[product_id], structure=True)
    except ProtectedError:
        product_set_active(product=product, is_active=False)
        return False

    def delete_files() -> None:
        for original, thumbnail in files:
            original.delete(save=False)
            thumbnail.delete(save=False)

    # Storage (maybe Cloudinary) is only touched once the rows are really gone.
    transaction.on_commit(delete_files)
    return True
