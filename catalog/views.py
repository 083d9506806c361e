"""Shop pages: the listing (home, search, category) and the product page.

The product-dependent parts of each page are rendered once, without a request, and cached
under versioned keys (see catalog.cache). They hold nothing about who asks, so anonymous and
logged-in visitors share them; per-visitor parts (navigation, the cart badge, the add-to-cart
form with its CSRF token, "your review", a seller's "this is your product") are rendered
around them on every request.
"""

from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.safestring import mark_safe

from catalog import selectors
from catalog.api import PRODUCTS_PER_PAGE
from catalog.cache import cached, listing_version, params_digest, product_versions, structure_version
from catalog.filters import ORDERING_CHOICES, ProductFilter
from catalog.models import MAX_OPTIONS, Category
from catalog.response_cache import reads_query_params
from joycart.ids import parse_id
from joycart.money import format_inr
from joycart.pagination import CappedCountPaginator
from reviews import selectors as review_selectors

# The listing's filter form is the filterset's form, so a filter added there is read, and
# keyed on, without being listed again here.
LISTING_QUERY_PARAMS = frozenset(ProductFilter.base_filters) | {"page"}
# A category page filters on its own slug, whatever `?category=` says.
CATEGORY_QUERY_PARAMS = LISTING_QUERY_PARAMS - {"category"}
# The listing pages count their matches up to this many ("More than 1,000 products", "Page 1 of 42+"): an exact
# count reads every match, so it grew with the catalogue (up to a scan of 100,000 rows); 1,001 rows cost about what
# the page itself does. The API's `count` stays exact, as its schema promises.
LISTING_COUNT_CAP = 1_000


def _fragment_key(request, kind: str, version: object) -> str | None:
    # A shared response is cached whole (catalog.response_cache): its fragment would be a second copy.
    if version is None or getattr(request, "response_is_shared", False):
        return None
    # request.GET holds only the parameters the view declared (reads_query_params), canonically.
    return f"catalog:page-{kind}:{version}:{params_digest(request.GET)}"


def _listing_fragment(request, *, category: Category | None) -> str:
    params = request.GET.copy()
    if category is not None:
        params["category"] = category.slug
    filterset = ProductFilter(params, queryset=selectors.product_listing())
    paginator = CappedCountPaginator(filterset.qs, PRODUCTS_PER_PAGE, count_cap=LISTING_COUNT_CAP)
    page = paginator.get_page(request.GET.get("page"))
    page.object_list = selectors.listing_page_rows(page.object_list)
    query_without_page = params.copy()
    query_without_page.pop("page", None)
    return render_to_string(
        "catalog/_listing.html",
        {
            "filter_form": filterset.form,
            "page": page,
            "products": page.object_list,
            "category": category,
            "top_categories": selectors.top_categories(),
            "brands": selectors.brands(),
            "ordering_choices": ORDERING_CHOICES,
            "query": query_without_page.urlencode(),
            "searching": bool(params.get("search", "").strip()),
        },
        request=None,  # the fragment may be shared between visitors: no per-request context in it
    )


@reads_query_params(*LISTING_QUERY_PARAMS)
def product_list(request):
    """The home page: every visible product, with search, filters and sorting."""
    fragment = cached(
        _fragment_key(request, "listing", listing_version()), lambda: _listing_fragment(request, category=None)
    )
    return render(request, "catalog/product_list.html", {"listing": mark_safe(fragment)})  # noqa: S308 - our template's output


@reads_query_params(*CATEGORY_QUERY_PARAMS)
def category_detail(request, slug: str):
    category = selectors.category_get(slug=slug)
    version = listing_version()
    fragment = cached(
        _fragment_key(request, f"category:{slug}", version), lambda: _listing_fragment(request, category=category)
    )
    return render(
        request,
        "catalog/category_detail.html",
        {"category": category, "listing": mark_safe(fragment)},  # noqa: S308 - our template's output
    )


def _reviews_fragments(product, *, page_number: str | None) -> dict[str, str]:
    """The rating summary and one page of reviews: the same for every visitor, so cached with the product."""
    reviews = review_selectors.product_reviews(product_id=product.pk)
    page = Paginator(reviews, review_selectors.REVIEWS_PER_PAGE).get_page(page_number)
    distribution = review_selectors.rating_distribution(product_id=product.pk)
    return {
        "reviews_summary": render_to_string(
            "reviews/_summary.html", {"product": product, "distribution": distribution}
        ),
        "reviews_list": render_to_string("reviews/_list.html", {"page": page, "reviews": page.object_list}),
    }


OPTION_PARAMS = tuple(f"option{position}" for position in range(1, MAX_OPTIONS + 1))


def _pick_state(variant) -> str:
    """What a shopper is told beside an option value: nothing, "sold out" or "unavailable"."""
    if variant is None:
        return "unavailable"
    return "" if variant.in_stock else "sold out"


def _picker(options: list, variants: list, selected: tuple[str, ...]) -> list[dict]:
    """One select per option. Each value says what picking it (keeping the other values) would give:
    a variant in stock, one sold out, or none at all; a value no variant has is disabled."""
    picker = []
    for index, option in enumerate(options):
        offered = {variant.option_values[index] for variant in variants if len(variant.option_values) > index}
        values = []
        for value in option.values:
            combination = [*selected[:index], value, *selected[index + 1 :]]
            values.append(
                {
                    "value": value,
                    "selected": index < len(selected) and selected[index] == value,
                    "state": _pick_state(selectors.variant_with_options(variants, combination)),
                    "disabled": value not in offered,
                }
            )
        picker.append({"name": option.name, "param": OPTION_PARAMS[index], "values": values})
    return picker


def _variant_data(variant, images_by_id: dict, fallback_image) -> dict:
    image = images_by_id.get(variant.image_id) or fallback_image
    return {
        "id": variant.pk,
        "sku": variant.sku,
        "options": list(variant.option_values),
        "price": format_inr(variant.price),
        "mrp": format_inr(variant.mrp) if variant.discount_percent else "",
        "discount_percent": variant.discount_percent,
        "stock": selectors.page_stock_shown(variant.stock),
        "low_stock": variant.is_low_stock,
        "image": image.image.url if image else "",
        "image_alt": image.alt if image else "",
    }


def _chosen_variant(variants: list, *, variant_param: str, selection: tuple[str, ...]):
    """(the variant to show, whether `selection` named a combination that is not for sale).

    An unknown, inactive, another product's or malformed `?variant=` shows the default variant:
    the link was shared before the seller changed the product, and its page still sells.
    """
    if selection:
        return selectors.variant_with_options(variants, list(selection)), True
    variant_id = parse_id(variant_param)
    chosen = next((variant for variant in variants if variant.pk == variant_id), None)
    return chosen or selectors.default_variant(variants), False


def _product_page_data(
    slug: str, *, reviews_page: str | None = None, variant_param: str = "", selection: tuple[str, ...] = ()
) -> dict:
    """The product page's cacheable part. With `selection` (option values from the picker's form)
    it may be only {"redirect_to_variant": id}: the view then redirects to that variant's own URL."""
    product = selectors.product_page_get(slug=slug)
    options = list(product.options.all())
    variants = selectors.shopper_variants(product)
    selection = selection[: len(options)]
    chosen, from_selection = _chosen_variant(variants, variant_param=variant_param, selection=selection)
    if from_selection and chosen is not None:
        return {"redirect_to_variant": chosen.pk}
    images = list(product.images.all())
    images_by_id = {image.pk: image for image in images}
    main_image = images_by_id.get(chosen.image_id) if chosen else None
    main_image = main_image or (images[0] if images else None)
    context = {
        "product": product,
        "variant": chosen,
        "selection_unavailable": from_selection,
        "picker": _picker(options, variants, chosen.option_values if chosen else selection),
        "main_image": main_image,
        "other_images": [image for image in images if image != main_image],
        "variants_data": {
            "variants": [_variant_data(v, images_by_id, images[0] if images else None) for v in variants],
            "max_quantity": selectors.MAX_QUANTITY_CHOICE,
        },
    }
    # The cart form comes back to the variant the shopper chose; a product without options has one URL.
    back_query = f"?variant={chosen.pk}" if chosen and options else ""
    return {
        "details": render_to_string("catalog/_product_detail.html", context),
        **_reviews_fragments(product, page_number=reviews_page),
        "product": {
            "id": product.pk,
            "slug": product.slug,
            "title": product.title,
            "variant_id": chosen.pk if chosen else None,
            "stock": selectors.page_stock_shown(chosen.stock) if chosen else 0,
            "in_stock": bool(chosen and chosen.in_stock),
            "any_in_stock": product.in_stock,
            "back_url": reverse("product_detail", args=[product.slug]) + back_query,
            "seller_id": product.store.user_id,
            "meta_description": product.description[:160],
        },
    }


@reads_query_params("page", "variant", *OPTION_PARAMS)
def product_detail(request, slug: str):
    """Served from the cached fragments; an anonymous visitor's whole page is cached too.

    `?variant=<id>` is a variant's own, shareable URL. The picker's form, which works without
    JavaScript, sends option values instead (`?option1=M&option2=Blue`): they are redirected to
    their variant's URL, or shown as not for sale when no active variant has them.
    """
    reviews_page = request.GET.get("page")
    selection = tuple(request.GET.get(name, "") for name in OPTION_PARAMS)
    selection = selection if any(selection) else ()
    variant_param = request.GET.get("variant", "")

    def build() -> dict:
        return _product_page_data(slug, reviews_page=reviews_page, variant_param=variant_param, selection=selection)

    product_id = selectors.visible_product_id_for_slug(slug=slug, structure_version=structure_version())
    versions = product_versions(product_id)
    key = _fragment_key(request, f"product:{product_id}", versions and "-".join(map(str, versions)))
    data = cached(key, build)
    if "redirect_to_variant" in data:
        return redirect(f"{reverse('product_detail', args=[slug])}?variant={data['redirect_to_variant']}")
    product = data["product"]
    own_product = request.user.is_authenticated and product["seller_id"] == request.user.pk
    return render(
        request,
        "catalog/product_detail.html",
        {
            "product": product,
            "details": mark_safe(data["details"]),  # noqa: S308 - our own template's output
            "own_product": own_product,
            "quantity_choices": range(1, product["stock"] + 1),  # page_stock_shown: at most MAX_QUANTITY_CHOICE
            "reviews_summary": mark_safe(data["reviews_summary"]),  # noqa: S308 - our own template's output
            "reviews_list": mark_safe(data["reviews_list"]),  # noqa: S308 - our own template's output
            "review_standing": review_selectors.review_standing(
                user=request.user, product_id=product["id"], seller_user_id=product["seller_id"]
            ),
        },
    )
