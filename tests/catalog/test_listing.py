"""Shoppers' listing: filters, sorting, search and pagination, on the page and the API."""

from decimal import Decimal

import pytest
from django.db import connection

from catalog.models import Product
from catalog.services.products import product_update, search_vector_refresh
from catalog.services.summary import product_summary_refresh
from tests.catalog.variant_helpers import kurta, variant_product
from tests.factories import CategoryFactory, ProductFactory, StoreFactory, UserFactory, VariantFactory

pytestmark = pytest.mark.django_db


def api_slugs(client, **params) -> list[str]:
    response = client.get("/api/v1/products/", params)
    assert response.status_code == 200, response.content
    return [row["slug"] for row in response.json()["results"]]


def page_slugs(client, path="/", **params) -> list[str]:
    response = client.get(path, params)
    assert response.status_code == 200
    return [p.slug for p in response.context["products"]] if "products" in (response.context or {}) else []


@pytest.fixture
def shelf():
    """A small catalog with known prices, brands, categories and stock."""
    clothing = CategoryFactory(name="Clothing", slug="clothing")
    sarees = CategoryFactory(name="Sarees", slug="sarees", parent=clothing)
    audio = CategoryFactory(name="Audio", slug="audio")
    store = StoreFactory(name="Kanchi Looms", slug="kanchi-looms")
    products = {
        "silk": ProductFactory(
            title="Kanjivaram silk saree", slug="silk", brand="Kanchi", price=Decimal("8999.00"),
            category=sarees, store=store, description="Pure mulberry silk with zari border",
        ),
        "cotton": ProductFactory(
            title="Handloom cotton saree", slug="cotton", brand="Kanchi", price=Decimal("1299.00"),
            category=sarees, store=store, stock=0,
        ),
        "kurta": ProductFactory(title="Linen kurta", slug="kurta", brand="Fabindia", price=Decimal("1899.00"), category=clothing),
        "buds": ProductFactory(
            title="Wireless earbuds", slug="buds", brand="boAt", price=Decimal("1499.00"), category=audio,
            description="Bluetooth earbuds with a silk-touch case",
        ),
    }  # fmt: skip
    search_vector_refresh(Product.objects.all())
    return products


class TestFilters:
    def test_category_includes_its_sub_categories(self, client, shelf):
        assert set(api_slugs(client, category="clothing")) == {"silk", "cotton", "kurta"}
        assert set(api_slugs(client, category="sarees")) == {"silk", "cotton"}

    def test_price_range_brand_store_and_stock(self, client, shelf):
        assert set(api_slugs(client, min_price="1400", max_price="2000")) == {"kurta", "buds"}
        assert set(api_slugs(client, brand="kanchi")) == {"silk", "cotton"}
        assert set(api_slugs(client, store="kanchi-looms")) == {"silk", "cotton"}
        assert set(api_slugs(client, in_stock="true")) == {"silk", "kurta", "buds"}

    def test_bad_filter_value_is_400_on_the_api(self, client, shelf):
        response = client.get("/api/v1/products/", {"min_price": "cheap"})
        assert response.status_code == 400
        assert "min_price" in response.json()

    def test_page_shows_a_bad_filter_as_a_form_error_and_still_lists(self, client, shelf):
        response = client.get("/", {"min_price": "cheap"})
        assert response.status_code == 200
        assert "Enter a number" in response.content.decode()
        assert len(response.context["products"]) == 4

    def test_the_same_filters_drive_the_page(self, client, shelf):
        assert set(page_slugs(client, brand="Kanchi", in_stock="true")) == {"silk"}
        assert set(page_slugs(client, "/categories/sarees/")) == {"silk", "cotton"}


class TestSorting:
    def test_price_both_ways_and_newest(self, client, shelf):
        assert api_slugs(client, ordering="price") == ["cotton", "buds", "kurta", "silk"]
        assert api_slugs(client, ordering="-price") == ["silk", "kurta", "buds", "cotton"]
        assert api_slugs(client, ordering="-created_at")[0] == "buds"

    def test_rating(self, client, shelf):
        Product.objects.filter(slug="kurta").update(rating_avg=Decimal("4.80"), rating_count=12)
        assert api_slugs(client, ordering="-rating_avg")[0] == "kurta"

    def test_unknown_ordering_is_400(self, client, shelf):
        assert client.get("/api/v1/products/", {"ordering": "stock"}).status_code == 400


class TestSearch:
    def test_matches_title_brand_and_description(self, client, shelf):
        assert set(api_slugs(client, search="saree")) == {"silk", "cotton"}
        assert set(api_slugs(client, search="boAt")) == {"buds"}
        assert "buds" in api_slugs(client, search="bluetooth")

    def test_no_match_says_so_on_the_page(self, client, shelf):
        response = client.get("/", {"search": "tractor"})
        assert response.context["products"] == [] or not response.context["products"]
        assert "No products match" in response.content.decode()

    @pytest.mark.postgres
    def test_postgres_ranks_title_matches_above_description_matches(self, client, shelf):
        # "silk" is in the saree's title and only in the earbuds' description.
        assert api_slugs(client, search="silk")[:2] == ["silk", "buds"]

    @pytest.mark.postgres
    def test_postgres_matches_a_one_or_two_letter_term_at_the_start_of_words(self, client, shelf):
        # No trigram index can find two letters inside titles, and they are inside nearly all of them.
        ProductFactory(title="Glass vase", slug="vase")
        search_vector_refresh(Product.objects.all())
        assert api_slugs(client, search="Li") == ["kurta"]  # Linen
        assert api_slugs(client, search="va") == ["vase"]  # not the "va" inside "Kanjivaram"
        assert api_slugs(client, search="oo") == []  # inside "Handloom" and "Bluetooth" only

    def test_edits_are_searchable_at_once(self, client, shelf):
        product_update(product=shelf["kurta"], title="Linen kurta with block print")
        assert api_slugs(client, search="block print") == ["kurta"]


class TestPagination:
    def test_24_per_page(self, client):
        ProductFactory.create_batch(30)
        first = client.get("/api/v1/products/").json()
        assert first["count"] == 30 and len(first["results"]) == 24
        second = client.get("/api/v1/products/", {"page": 2}).json()
        assert len(second["results"]) == 6
        page = client.get("/", {"page": 2})
        assert len(page.context["products"]) == 6
        assert "Page 2 of 2" in page.content.decode()

    def test_page_links_keep_the_filters(self, client):
        ProductFactory.create_batch(30, brand="Acme")
        html = client.get("/", {"brand": "Acme"}).content.decode()
        assert "brand=Acme&amp;page=2" in html


class TestCappedCount:
    """The pages count matches up to a cap (1,000; 48 here): past it they say "more than" and still page on."""

    CAP = 48

    @pytest.fixture(autouse=True)
    def sixty(self, monkeypatch):
        monkeypatch.setattr("catalog.views.LISTING_COUNT_CAP", self.CAP)
        ProductFactory.create_batch(60, brand="Acme")

    @staticmethod
    def listing(client, path="/", **params) -> tuple[list, str]:
        response = client.get(path, params)
        assert response.status_code == 200
        return list(response.context["products"]), response.content.decode()

    def test_first_page_says_more_than_the_cap_and_links_to_the_next(self, client):
        products, html = self.listing(client, brand="Acme")
        assert len(products) == 24
        assert "More than 48 products" in html
        assert "Page 1 of 3+" in html
        assert 'brand=Acme&amp;page=2" rel="next"' in html

    def test_a_page_past_the_cap_is_whole_and_the_last_one_is_exact(self, client):
        products, html = self.listing(client, page="2")
        assert len(products) == 24 and "Page 2 of 3+" in html and 'page=3" rel="next"' in html
        products, html = self.listing(client, page="3")
        assert len(products) == 12
        assert "60 products" in html and "Page 3 of 3<" in html
        assert 'rel="next"' not in html and 'page=2" rel="prev"' in html

    @pytest.mark.parametrize("page", ["99", "0"])
    def test_a_page_past_the_end_shows_the_last_page(self, client, page):
        products, html = self.listing(client, page=page)
        assert len(products) == 12 and "Page 3 of 3<" in html

    def test_under_the_cap_the_count_is_exact(self, client):
        ProductFactory.create_batch(3, brand="Zeta")
        _, html = self.listing(client, brand="Zeta")
        assert "3 products" in html and "More than" not in html

    def test_the_category_page_and_a_search_are_capped_too(self, client):
        category = CategoryFactory(slug="acme-shelf")
        Product.objects.update(category=category, title="Acme lamp")
        search_vector_refresh(Product.objects.all())
        _, html = self.listing(client, "/categories/acme-shelf/")
        assert "More than 48 products" in html
        _, html = self.listing(client, search="lamp")
        assert "More than 48 products found" in html and "Page 1 of 3+" in html

    def test_the_api_count_stays_exact(self, client):
        assert client.get("/api/v1/products/").json()["count"] == 60


class TestVisibility:
    def test_inactive_products_stores_and_blocked_sellers_are_hidden_everywhere(self, client, shelf):
        ProductFactory(slug="hidden-product", is_active=False)
        ProductFactory(slug="closed-store", store=StoreFactory(is_active=False))
        ProductFactory(slug="blocked-seller", store=StoreFactory(user=UserFactory(is_blocked=True)))
        hidden = {"hidden-product", "closed-store", "blocked-seller"}
        assert not hidden & set(api_slugs(client))
        assert not hidden & set(page_slugs(client))
        for slug in hidden:
            assert client.get(f"/products/{slug}/").status_code == 404
            product_id = Product.objects.get(slug=slug).pk
            assert client.get(f"/api/v1/products/{product_id}/").status_code == 404

    def test_out_of_stock_product_says_so_and_offers_no_add_to_cart(self, client, shelf):
        html = client.get("/products/cotton/").content.decode()
        assert "Out of stock" in html
        assert 'data-testid="add-to-cart"' not in html
        assert 'data-testid="add-to-cart"' in client.get("/products/silk/").content.decode()


class TestProductDetail:
    def test_api_detail_has_stock_prices_ratings_and_images(self, client, shelf):
        data = client.get(f"/api/v1/products/{shelf['silk'].pk}/").json()
        assert {"stock", "slug", "price", "mrp", "rating_avg", "rating_count", "images"} <= set(data)
        assert data["price"] == "8999.00" and data["stock"] == 10

    def test_page_shows_the_discount_and_rupees(self, client):
        ProductFactory(slug="deal", price=Decimal("1499.00"), mrp=Decimal("2999.00"))
        html = client.get("/products/deal/").content.decode()
        assert "₹1,499.00" in html and "₹2,999.00" in html
        assert "50% off" in html

    def test_user_text_is_escaped(self, client):
        ProductFactory(slug="xss", title="<img src=x onerror=alert(1)>", description="<script>bad()</script>")
        html = client.get("/products/xss/").content.decode() + client.get("/").content.decode()
        assert "<script>bad()" not in html and "<img src=x onerror" not in html

    def test_categories_api(self, client, shelf):
        data = client.get("/api/v1/categories/").json()
        by_slug = {row["slug"]: row for row in data["results"]}
        assert by_slug["sarees"]["parent"] == "clothing"


@pytest.fixture
def rack():
    """Products with variants: a cheap inactive variant, a sold-out one, and prices that differ or not."""
    products = {
        # Active: 1,200 (MRP 1,500) in stock and 1,800 sold out; the 300 one is inactive.
        "shirt": variant_product(
            slug="shirt", title="Oxford shirt", options={"Size": ["S", "M", "XL"]},
            variants=[
                {"option1": "S", "price": Decimal("300.00"), "is_active": False},
                {"option1": "M", "price": Decimal("1200.00"), "mrp": Decimal("1500.00"), "stock": 3},
                {"option1": "XL", "price": Decimal("1800.00"), "stock": 0},
            ],
        ),
        # Two colours at one price, both sold out; an inactive one has stock.
        "scarf": variant_product(
            slug="scarf", title="Silk scarf", options={"Colour": ["Peacock Blue", "Rust", "Olive"]},
            variants=[
                {"option1": "Peacock Blue", "price": Decimal("700.00"), "stock": 0},
                {"option1": "Rust", "price": Decimal("700.00"), "stock": 0},
                {"option1": "Olive", "price": Decimal("700.00"), "stock": 9, "is_active": False},
            ],
        ),
        "mug": ProductFactory(slug="mug", title="Steel mug", price=Decimal("250.00")),
    }  # fmt: skip
    search_vector_refresh(Product.objects.all())
    return products


def card(html: str, slug: str) -> str:
    start = html.index(f'href="/products/{slug}/"')
    return html[start : html.index("</li>", start)]


class TestVariantsInTheListing:
    def test_each_product_is_listed_once_whatever_its_variants(self, client, rack):
        for params in ({}, {"search": "s"}, {"min_price": "100"}, {"ordering": "price"}, {"ordering": "-price"}):
            assert sorted(api_slugs(client, **params)) == ["mug", "scarf", "shirt"]
            assert sorted(page_slugs(client, **params)) == ["mug", "scarf", "shirt"]

    def test_a_price_range_shows_from_the_cheapest_active_price_with_its_discount(self, client, rack):
        html = client.get("/").content.decode()
        assert "from</span> ₹1,200.00" in card(html, "shirt")
        assert "₹1,500.00" in card(html, "shirt") and "20% off" in card(html, "shirt")
        assert "from" not in card(html, "scarf") and "₹700.00" in card(html, "scarf")
        assert "from" not in card(html, "mug")

    def test_api_list_gives_the_range_and_how_many_variants(self, client, rack):
        rows = {row["slug"]: row for row in client.get("/api/v1/products/").json()["results"]}
        assert (rows["shirt"]["price"], rows["shirt"]["price_max"], rows["shirt"]["mrp"]) == (
            "1200.00",
            "1800.00",
            "1500.00",
        )
        assert rows["shirt"]["discount_percent"] == 20
        assert {slug: row["variant_count"] for slug, row in rows.items()} == {"shirt": 2, "scarf": 2, "mug": 1}

    def test_in_stock_means_an_active_variant_is(self, client, rack):
        assert set(api_slugs(client, in_stock="true")) == {"shirt", "mug"}
        html = client.get("/").content.decode()
        assert 'data-testid="out-of-stock"' in card(html, "scarf")
        assert 'data-testid="out-of-stock"' not in card(html, "shirt")

    def test_price_filters_and_sorting_use_the_cheapest_active_variant(self, client, rack):
        # The shirt's inactive 300 variant counts for nothing; its dearest 1,800 does not either.
        assert set(api_slugs(client, max_price="500")) == {"mug"}
        assert set(api_slugs(client, min_price="1000")) == {"shirt"}
        assert set(api_slugs(client, min_price="1500", max_price="2000")) == set()
        assert api_slugs(client, ordering="price") == ["mug", "scarf", "shirt"]
        assert api_slugs(client, ordering="-price") == ["shirt", "scarf", "mug"]
        assert page_slugs(client, ordering="price") == ["mug", "scarf", "shirt"]

    def test_a_variant_price_change_moves_the_product(self, client, rack):
        shirt_medium = rack["shirt"].variants.get(option1="M")
        shirt_medium.price = Decimal("650.00")
        shirt_medium.mrp = None
        shirt_medium.save()
        product_summary_refresh(product_ids=[rack["shirt"].pk])
        assert api_slugs(client, ordering="price") == ["mug", "shirt", "scarf"]


class TestSearchOptionValues:
    @pytest.mark.parametrize(
        ("search", "found"),
        [("XL", {"shirt"}), ("xl", {"shirt"}), ("Peacock Blue", {"scarf"}), ("rust", {"scarf"}), ("Olive", set())],
    )
    def test_option_values_of_active_variants_are_found(self, client, rack, search, found):
        # Olive is the scarf's inactive variant: nobody can buy it, so it finds nothing.
        assert set(api_slugs(client, search=search)) == found
        assert set(page_slugs(client, search=search)) == found

    def test_a_size_that_is_an_english_stop_word_is_found(self, client):
        # "S" is dropped by the english full-text configuration: the variants' words are indexed as written.
        kurta(category=CategoryFactory())
        search_vector_refresh(Product.objects.all())
        assert api_slugs(client, search="S") == ["kurta"]

    def test_a_sku_of_an_active_variant_is_found(self, client, rack):
        VariantFactory(product=rack["mug"], sku="MUG-STEEL-350", option1="350 ml")
        VariantFactory(product=rack["scarf"], sku="SCARF-OLD-9", option1="Ochre", is_active=False)
        search_vector_refresh(Product.objects.all())
        assert api_slugs(client, search="MUG-STEEL-350") == ["mug"]
        assert api_slugs(client, search="SCARF-OLD-9") == []

    def test_a_product_matching_by_title_and_several_options_is_listed_once(self, client, rack):
        VariantFactory(product=rack["shirt"], option1="XXL", price=Decimal("1900.00"))
        product_summary_refresh(product_ids=[rack["shirt"].pk])
        assert api_slugs(client, search="XL") == ["shirt"]


def grow_with_variants(count: int, **product_fields) -> None:
    """`count` more products, each with three more variants (one of them an "XL")."""
    products = ProductFactory.create_batch(count, **product_fields)
    for product in products:
        for size, price in (("M", "399.00"), ("L", "599.00"), ("XL", "799.00")):
            VariantFactory(product=product, option1=size, price=Decimal(price))
    product_summary_refresh(product_ids=[product.pk for product in products])


class TestQueryBudget:
    @pytest.mark.parametrize(
        "path", ["/", "/api/v1/products/", "/categories/flat/", "/?search=XL", "/api/v1/products/?search=XL"]
    )
    def test_listings_query_count_is_flat(self, client, path, assert_flat_query_count):
        category = CategoryFactory(slug="flat")
        grow_with_variants(5, category=category)
        assert_flat_query_count(
            lambda: client.get(path), lambda: grow_with_variants(45, category=category), max_queries=8
        )

    def test_logged_in_listing_query_count_is_flat(self, client, assert_flat_query_count):
        user = UserFactory()
        client.force_login(user)  # the admin session; shop pages read JWT cookies
        from django.http import HttpResponse

        from accounts.auth import set_auth_cookies
        from accounts.services.sessions import tokens_issue

        response = HttpResponse()
        set_auth_cookies(response, tokens_issue(user=user))
        for name, morsel in response.cookies.items():
            client.cookies[name] = morsel.value
        ProductFactory.create_batch(5)
        assert_flat_query_count(lambda: client.get("/"), lambda: grow_with_variants(45), max_queries=10)

    def test_product_page_query_count_does_not_grow_with_the_catalog(self, client, assert_flat_query_count):
        product = ProductFactory(slug="steady")
        ProductFactory.create_batch(5)
        assert_flat_query_count(
            lambda: client.get(f"/products/{product.slug}/"),
            lambda: ProductFactory.create_batch(45),
            max_queries=8,
        )


def test_search_sql_uses_full_text_on_postgres(client, shelf, django_assert_num_queries):
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        client.get("/api/v1/products/", {"search": "saree"})
    sql = " ".join(q["sql"] for q in queries.captured_queries)
    if connection.vendor == "postgresql":
        assert "@@" in sql and "ts_rank" in sql
    else:
        assert "LIKE" in sql


@pytest.mark.parametrize("ordering", ["", "price", "-rating_avg"])
def test_a_search_page_shows_the_rows_and_order_the_api_gives(client, ordering):
    """A search's page picks its rows by the ranking (or sort) alone, then reads them: the same products in the
    same order as the API, which reads them in one query, on every page, ties included."""
    store, category = StoreFactory(), CategoryFactory()
    for n in range(30):
        # The word in the title, the brand or the description ranks differently; prices and ratings tie in groups.
        where = ("title", "brand", "description")[n % 3]
        texts = {"title": f"Item {n}", "brand": "Acme", "description": "Plain.", where: f"Brass lamp {n}"}
        ProductFactory(store=store, category=category, price=Decimal(100 + n % 4), rating_avg=Decimal(n % 5), **texts)
    search_vector_refresh(Product.objects.all())
    params = {"search": "lamp", **({"ordering": ordering} if ordering else {})}
    for page in ("1", "2"):
        api = api_slugs(client, **params, page=page)
        assert len(api) == (24 if page == "1" else 6)
        assert page_slugs(client, **params, page=page) == api
