"""Reads of the catalog. Shoppers see only visible products; sellers only their own."""

from django.db.models import Count, Exists, IntegerField, OuterRef, Prefetch, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.http import Http404
from django.shortcuts import get_object_or_404

from accounts.models import Store
from catalog.cache import cached, listing_version
from catalog.models import LOW_STOCK_THRESHOLD, Category, Product, ProductImage, ProductOption, ProductVariant
from joycart.ids import is_valid_id

# The cart takes at most this many of one line; a product page's quantity picker offers no more.
MAX_QUANTITY_CHOICE = 10


def page_stock_shown(stock: int) -> int:
    """All a product page (its HTML) shows of a variant's stock: a sale that leaves it as it was need not
    refresh the page (`catalog.cache.bump_after_commit`'s `stock_counts_of`).

    The page says "Out of stock", "Only N left" (up to LOW_STOCK_THRESHOLD) or "In stock", and offers up to
    MAX_QUANTITY_CHOICE in its quantity picker; the variant picker's data does the same for each variant in
    the browser. min(stock, MAX_QUANTITY_CHOICE) decides all of it, so that is all the page is given: the
    exact count is the API detail's, which keys on a stock version of its own.
    """
    return min(stock, MAX_QUANTITY_CHOICE)


def visible_products() -> QuerySet[Product]:
    """What shoppers may see: active products of active stores whose sellers are not blocked."""
    return Product.objects.filter(is_active=True, store__is_active=True, store__user__is_blocked=False)


def visible_variants() -> QuerySet[ProductVariant]:
    """What shoppers may buy: active variants of visible products."""
    return ProductVariant.objects.filter(is_active=True, product__in=visible_products())


def _active_variant_count() -> Coalesce:
    counted = (
        ProductVariant.objects.filter(product_id=OuterRef("pk"), is_active=True)
        .order_by()
        .values("product_id")
        .annotate(count=Count("pk"))
        .values("count")
    )
    return Coalesce(Subquery(counted), Value(0), output_field=IntegerField())


def _with_display_relations(products: QuerySet[Product]) -> QuerySet[Product]:
    # `variant_count` (active variants) is a subquery per row shown, so a page of products never
    # loads its variants; `count()` leaves it out.
    return (
        products.select_related("store", "category", "category__parent")
        .prefetch_related(Prefetch("images", queryset=ProductImage.objects.order_by("position", "id")))
        .annotate(variant_count=_active_variant_count())
    )


def _with_variants(products: QuerySet[Product]) -> QuerySet[Product]:
    """A product page's options and every variant (shoppers are shown only the active ones)."""
    return products.prefetch_related(
        "options",
        Prefetch("variants", queryset=ProductVariant.objects.select_related("image").order_by("position", "id")),
    )


def product_listing() -> QuerySet[Product]:
    """The base of every shopper listing; filters and sorting come from `catalog.filters`."""
    return _with_display_relations(visible_products())


def listing_page_rows(page: QuerySet[Product]) -> QuerySet[Product]:
    """The products of one page (a slice) of a listing, with the same rows in the same order.

    A search ranks or sorts every match before it knows which it shows. Sorting them with each one's whole row,
    store and categories (what a listing shows) cost three times the ranking itself at 100,000 products (5,365
    matches for 24 shown), so a search's page picks its rows' ids by the ranking alone, then reads only those.
    """
    if "rank" not in page.query.annotations or not page.query.is_sliced:
        return page
    chosen = page.values("pk")
    rows = page.all()
    rows.query.clear_limits()
    return rows.filter(pk__in=chosen)


def product_for_shoppers() -> QuerySet[Product]:
    """Visible products with what their page and the API's detail show: options and variants."""
    return _with_variants(_with_display_relations(visible_products()))


def product_detail(*, slug: str) -> Product:
    return get_object_or_404(_with_display_relations(visible_products()), slug=slug)


def product_page_get(*, slug: str) -> Product:
    """A visible product with its options and variants, for its page."""
    return get_object_or_404(product_for_shoppers(), slug=slug)


def shopper_variants(product: Product) -> list[ProductVariant]:
    """The variants a shopper may pick: the active ones, from the prefetched rows (`product_for_shoppers`)."""
    return [variant for variant in product.variants.all() if variant.is_active]


def default_variant(variants: list[ProductVariant]) -> ProductVariant | None:
    """What a product page shows first: the cheapest variant in stock, else the cheapest; None without any."""
    if not variants:
        return None
    return min(variants, key=lambda variant: (not variant.in_stock, variant.price, variant.position, variant.pk))


def variant_with_options(variants: list[ProductVariant], values: list[str]) -> ProductVariant | None:
    """The variant whose option values are exactly `values` (position by position, blanks included)."""
    wanted = tuple(values) + ("",) * (3 - len(values))
    return next((v for v in variants if (v.option1, v.option2, v.option3) == wanted), None)


def visible_product_id_for_slug(*, slug: str, structure_version: int | None) -> int:
    """The id of a visible product by slug (404 otherwise), cached per structure version.

    Creating, deleting or hiding a product bumps the structure version, so a slug freed by a
    deleted product and taken by a new one can never point at the old id.
    """
    key = None if structure_version is None else f"catalog:slug:{structure_version}:{slug}"
    return cached(key, lambda: get_object_or_404(visible_products().values_list("pk", flat=True), slug=slug))


def visible_product_get(*, product_id: int) -> Product:
    return get_object_or_404(_with_display_relations(visible_products()), pk=product_id)


def categories() -> QuerySet[Category]:
    return Category.objects.select_related("parent").order_by("parent__name", "name")


def category_get(*, slug: str) -> Category:
    return get_object_or_404(Category.objects.select_related("parent"), slug=slug)


def top_categories() -> QuerySet[Category]:
    return Category.objects.filter(parent__isnull=True).prefetch_related("children").order_by("name")


def brands() -> list[str]:
    """The brand filter's choices, cached per listing version: reading them walks an index of every product."""
    version = listing_version()
    return cached(
        None if version is None else f"catalog:brands:{version}",
        lambda: list(visible_products().exclude(brand="").order_by("brand").values_list("brand", flat=True).distinct()),
    )


def sku_taken(sku: str, *, exclude_variant: ProductVariant | None = None) -> bool:
    """Whether any variant of any seller has this SKU (SKUs are unique across sellers, in any case)."""
    variants = ProductVariant.objects.filter(sku__iexact=sku.strip())
    if exclude_variant is not None:
        variants = variants.exclude(pk=exclude_variant.pk)
    return variants.exists()


# --- The seller portal ----------------------------------------------------------------


def _has_active_variant(condition: Q) -> Exists:
    return Exists(ProductVariant.objects.filter(condition, product_id=OuterRef("pk"), is_active=True))


# Stock is counted per variant: a product whose "XL" is sold out is "out of stock" in the seller's list.
SELLER_PRODUCT_FILTERS = {
    "active": Q(is_active=True),
    "inactive": Q(is_active=False),
    "low": _has_active_variant(Q(stock__gt=0, stock__lte=LOW_STOCK_THRESHOLD)),
    "out": _has_active_variant(Q(stock=0)),
}


def _with_seller_variants(products: QuerySet[Product]) -> QuerySet[Product]:
    """All of each product's variants, active or not: the seller's list shows their SKU and count."""
    return _with_display_relations(products).prefetch_related("variants")


def seller_products(*, store: Store, search: str = "", status: str = "") -> QuerySet[Product]:
    """A seller's own products, any status. `status`: one of `SELLER_PRODUCT_FILTERS`, else all."""
    products = _with_seller_variants(Product.objects.filter(store=store)).order_by("-updated_at", "-id")
    if search:
        # The SKU match looks only at this store's variants: a correlated EXISTS under the OR would be
        # planned as one pass over every seller's variants.
        sku_matches = ProductVariant.objects.filter(product__store=store, sku__icontains=search).values("product_id")
        products = products.filter(Q(title__icontains=search) | Q(brand__icontains=search) | Q(pk__in=sku_matches))
    if status in SELLER_PRODUCT_FILTERS:
        products = products.filter(SELLER_PRODUCT_FILTERS[status])
    return products


def seller_product_get(*, store: Store, product_id: int) -> Product:
    """Another seller's product answers 404."""
    return get_object_or_404(
        _with_seller_variants(Product.objects.filter(store=store)).prefetch_related("options"), pk=product_id
    )


def seller_variants(*, product: Product) -> QuerySet[ProductVariant]:
    return ProductVariant.objects.filter(product=product).order_by("position", "id")


def seller_variant_get(*, store: Store, variant_id: int, product_id: int | None = None) -> ProductVariant:
    """One of the seller's variants (of `product_id`, when given); another seller's, or an id no row can have
    (a forged path), answers 404."""
    if not is_valid_id(variant_id) or (product_id is not None and not is_valid_id(product_id)):
        raise Http404("No such variant.")
    variants = ProductVariant.objects.select_related("product").filter(product__store=store)
    if product_id is not None:
        variants = variants.filter(product_id=product_id)
    return get_object_or_404(variants, pk=variant_id)


def seller_image_get(*, store: Store, product_id: int, image_id: int) -> ProductImage:
    return get_object_or_404(
        ProductImage.objects.select_related("product"), pk=image_id, product_id=product_id, product__store=store
    )


# --- seller portal pages ---


def _option_name(position: int) -> Subquery:
    return Subquery(
        ProductOption.objects.filter(product_id=OuterRef("product_id"), position=position).values("name")[:1]
    )


def seller_products_export(*, store: Store) -> QuerySet:
    """One query of plain tuples, one per variant, grouped by product: the product's id, then the
    CSV's columns in order (`catalog.services.imports.CSV_EXPORT_COLUMNS`); a missing option's name is None.

    Callers stream it with `.iterator()`, so a large catalogue is never held in memory.
    """
    return (
        ProductVariant.objects.filter(product__store=store)
        .annotate(option1_name=_option_name(1), option2_name=_option_name(2), option3_name=_option_name(3))
        .order_by("product_id", "position", "pk")
        .values_list(
            "product_id",
            "product__slug",
            "product__title",
            "product__description",
            "product__category__slug",
            "product__brand",
            "option1_name",
            "option1",
            "option2_name",
            "option2",
            "option3_name",
            "option3",
            "sku",
            "price",
            "mrp",
            "stock",
            "is_active",
        )
    )
