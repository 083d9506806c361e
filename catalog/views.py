"""Shop pages: the listing (home, search, category) and the product page.

For anonymous visitors the product-dependent parts of each page are rendered once and
cached under versioned keys (see catalog.cache); per-visitor parts (navigation, the
add-to-cart form with its CSRF token) are rendered around them on every request.
"""

from django.core.paginator import Paginator
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe

from catalog import selectors
from catalog.api import PRODUCTS_PER_PAGE
from catalog.cache import cached, listing_version, params_digest, product_versions
from catalog.filters import ORDERING_CHOICES, ProductFilter
from catalog.models import Category
from catalog.response_cache import reads_query_params
from reviews import selectors as review_selectors

# The listing's filter form is the filterset's form, so a filter added there is read, and
# keyed on, without being listed again here.
LISTING_QUERY_PARAMS = frozenset(ProductFilter.base_filters) | {"page"}
# A category page filters on its own slug, whatever `?category=` says.
CATEGORY_QUERY_PARAMS = LISTING_QUERY_PARAMS - {"category"}


def _fragment_key(request, kind: str, version: object) -> str | None:
    # A shared response is cached whole (catalog.response_cache): its fragment would be a second copy.
    if request.user.is_authenticated or version is None or getattr(request, "response_is_shared", False):
        return None
    # request.GET holds only the parameters the view declared (reads_query_params), canonically.
    return f"catalog:page-{kind}:{version}:{params_digest(request.GET)}"


def _listing_fragment(request, *, category: Category | None) -> str:
    params = request.GET.copy()
    if category is not None:
        params["category"] = category.slug
    filterset = ProductFilter(params, queryset=selectors.product_listing())
    page = Paginator(filterset.qs, PRODUCTS_PER_PAGE).get_page(request.GET.get("page"))
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


def _product_page_data(slug: str, *, reviews_page: str | None = None) -> dict:
    product = selectors.product_detail(slug=slug)
    return {
        "details": render_to_string("catalog/_product_detail.html", {"product": product}),
        **_reviews_fragments(product, page_number=reviews_page),
        "product": {
            "id": product.pk,
            "slug": product.slug,
            "title": product.title,
            "stock": product.stock,
            "in_stock": product.in_stock,
            "seller_id": product.store.user_id,
            "meta_description": product.description[:160],
        },
    }


@reads_query_params("page")
def product_detail(request, slug: str):
    """Anonymous visitors are served from the cache without touching the database."""
    reviews_page = request.GET.get("page")
    if request.user.is_authenticated:
        data = _product_page_data(slug, reviews_page=reviews_page)
    else:
        product_id = selectors.visible_product_id_for_slug(slug=slug, listing_version=listing_version())
        versions = product_versions(product_id)
        key = _fragment_key(request, f"product:{product_id}", versions and "-".join(map(str, versions)))
        data = cached(key, lambda: _product_page_data(slug, reviews_page=reviews_page))
    product = data["product"]
    own_product = request.user.is_authenticated and product["seller_id"] == request.user.pk
    return render(
        request,
        "catalog/product_detail.html",
        {
            "product": product,
            "details": mark_safe(data["details"]),  # noqa: S308 - our own template's output
            "own_product": own_product,
            "quantity_choices": range(1, min(product["stock"], 10) + 1),
            "reviews_summary": mark_safe(data["reviews_summary"]),  # noqa: S308 - our own template's output
            "reviews_list": mark_safe(data["reviews_list"]),  # noqa: S308 - our own template's output
            "review_standing": review_selectors.review_standing(
                user=request.user, product_id=product["id"], seller_user_id=product["seller_id"]
            ),
        },
    )
