"""At 100,000 products and 250,000 variants, the shop's busiest reads are found through indexes.

The catalog is written once for the module with `INSERT ... SELECT FROM generate_series` (committed, then
VACUUM ANALYZE, as autovacuum would leave a real table), and removed at the end. Each test makes a real
request or runs a real selector, captures its SQL, and asks PostgreSQL for the plan of every query that
reads the catalog: no node may read catalog_product or catalog_productvariant from end to end (Seq Scan),
and the index meant for the query must be in the plan. The planner is left alone: nothing turns seq scans off.
"""

from collections.abc import Iterator

import pytest
from django.contrib.postgres.search import SearchVectorField
from django.core.paginator import Paginator
from django.db import connection
from django.db.models import F, Func
from django.test.utils import CaptureQueriesContext

from accounts.models import Store
from catalog.models import Product, ProductVariant
from catalog.selectors import seller_products
from catalog.services.products import search_vector_refresh
from catalog.views import LISTING_COUNT_CAP

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

PRODUCTS = 100_000
CATALOG_TABLES = {"catalog_product", "catalog_productvariant"}
# A category's page by price walks the price index and keeps its shelves' rows, or reads each shelf's rows from
# the category index and sorts those: the planner picks by how big the category is.
NEWEST = "catalog_product_created_at_ea90ae72"
TOP_CATEGORY_BY_PRICE = "catalog_prod_top_price"
# Wider than an id and a rank (12 bytes in a plan), narrower than a listing's row (product, store, categories: hundreds).
WHOLE_ROW_WIDTH = 100
BY_PRICE = ("catalog_prod_by_price", "catalog_prod_active_cat_price")
# Django makes two indexes on a unique slug: the constraint's, and one for LIKE.
BY_SLUG = ("catalog_product_slug_key", "catalog_product_slug_f37848b0_like")
VARIANTS_OF_PRODUCT = ("catalog_productvariant_product_id_422f9d19", "catalog_variant_prod_act_price")
STORES = 50
CAPPED_COUNT = f"LIMIT {LISTING_COUNT_CAP + 1}) subquery"
PARENT_CATEGORIES = 8
CHILDREN_PER_PARENT = 4

# Product n gets materials[n % 8] + items[(n / 8) % 10] in its title, a brand, a category and a store by n;
# the first two variants (S, M) of every product and an XL for even n, which is inactive when n % 5 == 0:
# 250,000 variants. Every 50th product is inactive; every 20th store inactive and every 25th seller blocked.
FILL_SQL = f"""
INSERT INTO accounts_user (password, is_superuser, username, first_name, last_name, is_staff, is_active,
                           date_joined, email, is_blocked, created_at, updated_at)
SELECT '!', false, 'scale-seller-' || n, '', '', false, true, now(), 'scale-seller-' || n || '@example.com',
       n % 25 = 0, now(), now()
FROM generate_series(1, {STORES}) AS n;

INSERT INTO accounts_store (name, slug, description, is_active, created_at, user_id)
SELECT 'Scale store ' || n, 'scale-store-' || n, '', n % 20 <> 0, now(), seller.id
FROM generate_series(1, {STORES}) AS n JOIN accounts_user AS seller ON seller.username = 'scale-seller-' || n;

INSERT INTO catalog_category (name, slug, description, parent_id)
SELECT 'Scale shelf ' || n, 'scale-shelf-' || n, '', NULL FROM generate_series(1, {PARENT_CATEGORIES}) AS n;

INSERT INTO catalog_category (name, slug, description, parent_id)
SELECT 'Scale shelf ' || p || '.' || n, 'scale-shelf-' || p || '-' || n, '', parent.id
FROM generate_series(1, {PARENT_CATEGORIES}) AS p, generate_series(1, {CHILDREN_PER_PARENT}) AS n, catalog_category AS parent
WHERE parent.slug = 'scale-shelf-' || p;

INSERT INTO catalog_product (title, slug, description, brand, price, price_max, mrp, stock, is_active, rating_avg,
                             rating_count, created_at, updated_at, category_id, top_category_id, store_id,
                             search_vector)
SELECT
    title, 'scale-product-' || n, description, brand,
    price,
    price + CASE WHEN has_xl THEN 200 ELSE 100 END,
    CASE WHEN n % 4 = 0 THEN price + 500 END,
    CASE WHEN has_xl THEN 3 ELSE 2 END * (n % 17),
    n % 50 <> 0,
    (n % 500) / 100.0,
    n % 40,
    now() - n * interval '1 minute',
    now() - (n % 997) * interval '1 minute',
    shelves.ids[1 + n % shelves.count],
    shelves.parents[1 + n % shelves.count],
    stores.ids[1 + n % stores.count],
    -- What `search_vector_refresh` writes (the fixture checks a sample), without a second pass over the table.
    setweight(to_tsvector('english', title), 'A') || setweight(to_tsvector('english', brand), 'B')
    || setweight(to_tsvector('simple', 'S SCALE-' || n || '-1 M SCALE-' || n || '-2'
                                       || CASE WHEN has_xl THEN ' XL SCALE-' || n || '-3' ELSE '' END), 'B')
    || setweight(to_tsvector('english', description), 'C')
FROM (
    SELECT
        n,
        100 + (n * 7919 % 9900) AS price,
        n % 2 = 0 AND n % 5 <> 0 AS has_xl,
        (ARRAY['Kanjivaram silk', 'Handloom cotton', 'Linen', 'Block print', 'Chikankari', 'Bandhani', 'Ikat',
               'Khadi'])[1 + n % 8]
        || ' ' || (ARRAY['saree', 'kurta', 'dupatta', 'shirt', 'stole', 'lamp', 'planter', 'mug', 'earbuds',
                         'tabla'])[1 + (n / 8) % 10]
        || ' ' || n AS title,
        'A scale product, number ' || n || ', woven and finished by hand.' AS description,
        (ARRAY['Kanchi', 'Fabindia', 'boAt', 'Zentra', 'Desi Drape', 'Kanchi Weaves', 'Jaipur Living',
               'Ikkat House'])[1 + (n / 80) % 8] AS brand
    FROM generate_series(1, {PRODUCTS}) AS n
) AS numbered,
    (SELECT array_agg(id ORDER BY id) AS ids, array_agg(parent_id ORDER BY id) AS parents, count(*) AS count
     FROM catalog_category WHERE parent_id IS NOT NULL AND slug LIKE 'scale-shelf-%') AS shelves,
    (SELECT array_agg(id ORDER BY id) AS ids, count(*) AS count FROM accounts_store
     WHERE slug LIKE 'scale-store-%') AS stores;

INSERT INTO catalog_productvariant (sku, option1, option2, option3, price, mrp, stock, is_active, position,
                                    created_at, updated_at, product_id)
SELECT 'SCALE-' || numbered.n || '-' || v, (ARRAY['S', 'M', 'XL'])[v], '', '', product.price + (v - 1) * 100,
       NULL, numbered.n % 17, v < 3 OR numbered.n % 5 <> 0, v, now(), now(), product.id
FROM catalog_product AS product
CROSS JOIN LATERAL (SELECT substr(product.slug, length('scale-product-') + 1)::int AS n) AS numbered
CROSS JOIN generate_series(1, 3) AS v
WHERE product.slug LIKE 'scale-product-%' AND (v < 3 OR numbered.n % 2 = 0);
"""  # noqa: S608 - only this module's constants

# Outside this module's fixture the catalog tables are empty (every other test rolls back or flushes), so
# TRUNCATE removes only this catalog, at once, where a DELETE would check every row's foreign keys.
REMOVE_SQL = """
TRUNCATE catalog_productvariant, catalog_product CASCADE;
DELETE FROM catalog_category WHERE parent_id IS NOT NULL AND slug LIKE 'scale-shelf-%';
DELETE FROM catalog_category WHERE slug LIKE 'scale-shelf-%';
DELETE FROM accounts_store WHERE slug LIKE 'scale-store-%';
DELETE FROM accounts_user WHERE username LIKE 'scale-seller-%';
"""


@pytest.fixture(scope="module")
def large_catalog(django_db_setup, django_db_blocker) -> Iterator[None]:
    with django_db_blocker.unblock():
        if connection.vendor != "postgresql":
            pytest.skip("needs PostgreSQL query plans; run with DATABASE_URL=postgres://...")
        with connection.cursor() as cursor:
            cursor.execute(FILL_SQL)
            _check_search_documents_match_the_service()
            for table in ("accounts_user", "accounts_store", "catalog_category", *sorted(CATALOG_TABLES)):
                cursor.execute(f"VACUUM ANALYZE {table}")
        try:
            yield
        finally:
            with connection.cursor() as cursor:
                cursor.execute(REMOVE_SQL)


def _check_search_documents_match_the_service() -> None:
    """The fill writes the search documents itself (one pass); they hold what the real writer puts in them."""
    sample = Product.objects.filter(slug__in=["scale-product-10", "scale-product-15", "scale-product-42"])
    words = Func(F("search_vector"), function="strip", output_field=SearchVectorField())
    written = dict(sample.annotate(words=words).values_list("slug", "words"))
    search_vector_refresh(sample)
    assert dict(sample.annotate(words=words).values_list("slug", "words")) == written


def _scans(node: dict) -> Iterator[dict]:
    yield node
    for child in node.get("Plans", []):
        yield from _scans(child)


def catalog_plans(queries: CaptureQueriesContext) -> list[tuple[str, list[dict]]]:
    """Each captured query that reads the catalog, with every node of its plan."""
    plans = []
    with connection.cursor() as cursor:
        for query in queries.captured_queries:
            sql = query["sql"]
            if not sql.startswith("SELECT") or not any(f'"{table}"' in sql for table in CATALOG_TABLES):
                continue
            cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}")
            plans.append((sql, list(_scans(cursor.fetchone()[0][0]["Plan"]))))
    assert plans, "no query read the catalog"
    return plans


def assert_indexed(queries: CaptureQueriesContext, *, uses: tuple[str | tuple[str, ...], ...]) -> None:
    """No query seq-scans a catalog table, and together they use each index of `uses` (a tuple: one of them,
    where the planner may fairly choose either)."""
    used = set()
    for sql, nodes in catalog_plans(queries):
        seq_scans = [node["Relation Name"] for node in nodes if node["Node Type"] == "Seq Scan"]
        # The listing pages' capped count stops at its LIMIT, so its scan may start anywhere; how many rows it
        # reads is held by test_a_listing_page_reads_a_bounded_share_of_the_catalog.
        if CAPPED_COUNT not in sql:
            assert not CATALOG_TABLES & set(seq_scans), f"seq scan of {seq_scans} in:\n{sql}"
        used |= {node["Index Name"] for node in nodes if "Index Name" in node}
    for wanted in uses:
        choices = wanted if isinstance(wanted, tuple) else (wanted,)
        assert used & set(choices), f"none of {choices} among the indexes used: {sorted(used)}"


def captured(fetch) -> CaptureQueriesContext:
    with CaptureQueriesContext(connection) as queries:
        response = fetch()
    assert response.status_code == 200, response.status_code
    return queries


def test_the_catalog_is_large(large_catalog):
    assert Product.objects.count() == PRODUCTS
    assert 240_000 < ProductVariant.objects.count() < 260_000


def test_home_page_walks_the_created_at_index(large_catalog, client):
    queries = captured(lambda: client.get("/"))
    assert_indexed(queries, uses=(NEWEST, "catalog_prod_brand_store"))


@pytest.mark.parametrize("ordering", ["price", "-price"])
def test_top_level_category_page_sorted_by_price_walks_its_top_category_index(large_catalog, client, ordering):
    """Its four shelves' 12,500 products are one range of `catalog_prod_top_price`, in price order: the page reads
    a page of them, where reading each shelf's rows and sorting them all grew with the catalogue."""
    client.get("/categories/scale-shelf-3/")  # the brand list and the categories, cached per listing version
    queries = captured(lambda: client.get("/categories/scale-shelf-3/", {"ordering": ordering, "min_price": "1"}))
    assert_indexed(queries, uses=(TOP_CATEGORY_BY_PRICE,))
    for rows, sql in product_rows_read(queries):
        if CAPPED_COUNT not in sql:
            assert rows < 100, f"{rows} product rows read by:\n{sql}"


def test_sub_category_page_sorted_by_price_down(large_catalog, client):
    queries = captured(lambda: client.get("/categories/scale-shelf-3-2/", {"ordering": "-price"}))
    assert_indexed(queries, uses=(BY_PRICE,))


def test_search_in_a_category_and_price_range(large_catalog, client):
    params = {"search": "saree", "category": "scale-shelf-3", "min_price": "500", "max_price": "2000"}
    response = client.get("/", params)
    assert response.context["page"].paginator.count > 0
    queries = captured(lambda: client.get("/", {**params, "page": "1"}))
    # The matches are found in the search's indexes and intersected with the category's price range in its
    # top-category index, so only they are read from the table and ranked.
    assert_indexed(queries, uses=(TOP_CATEGORY_BY_PRICE, "catalog_product_search_gin", "catalog_product_title_trgm"))
    assert_whole_rows_sorted_only_for_the_page(queries)


def assert_whole_rows_sorted_only_for_the_page(queries: CaptureQueriesContext) -> None:
    """Every match is ranked, by a sort of ids and ranks; the sort that carries whole rows (the product, its store
    and categories) gets only the page's 24."""
    with connection.cursor() as cursor:
        for query in queries.captured_queries:
            if '"variant_count"' not in query["sql"]:
                continue
            cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {query['sql']}")
            for node in _scans(cursor.fetchone()[0][0]["Plan"]):
                if node["Node Type"] == "Sort" and node["Plan Width"] > WHOLE_ROW_WIDTH:
                    sorted_rows = sum(child["Actual Rows"] * child["Actual Loops"] for child in node["Plans"])
                    assert sorted_rows <= 24, f"{sorted_rows} whole rows sorted by:\n{query['sql']}"


@pytest.mark.parametrize("term", ["Chikankari dupatta", "SCALE-4242-2", "earbu", "Ik"])
def test_search_by_words_sku_or_part_of_a_title(large_catalog, client, term):
    response = client.get("/api/v1/products/", {"search": term})
    assert response.json()["count"] > 0
    queries = captured(lambda: client.get("/api/v1/products/", {"search": term, "page": "1"}))
    assert_indexed(queries, uses=("catalog_product_search_gin",))


@pytest.mark.parametrize("ordering", ["", "price"])
def test_a_search_page_sorts_whole_rows_only_for_the_page(large_catalog, client, ordering):
    params = {"search": "Chikankari", **({"ordering": ordering} if ordering else {})}
    client.get("/", params)  # the brand list and the categories, cached per listing version
    queries = captured(lambda: client.get("/", {**params, "min_price": "1"}))
    assert_whole_rows_sorted_only_for_the_page(queries)


def test_listing_api_walks_the_created_at_index(large_catalog, client):
    queries = captured(lambda: client.get("/api/v1/products/"))
    assert_indexed(queries, uses=(NEWEST,))


def test_listing_api_sorted_by_price(large_catalog, client):
    queries = captured(lambda: client.get("/api/v1/products/", {"ordering": "price", "page": "3"}))
    assert_indexed(queries, uses=(BY_PRICE,))


def test_product_page(large_catalog, client):
    queries = captured(lambda: client.get("/products/scale-product-4242/"))
    assert_indexed(queries, uses=(BY_SLUG, VARIANTS_OF_PRODUCT))


class Sellers:
    @staticmethod
    def first_page(**filters) -> CaptureQueriesContext:
        store = Store.objects.get(slug="scale-store-7")
        with CaptureQueriesContext(connection) as queries:
            page = Paginator(seller_products(store=store, **filters), 24).get_page(1)
            assert list(page.object_list)
        return queries


def test_seller_product_list(large_catalog):
    assert_indexed(Sellers.first_page(), uses=("catalog_prod_store_updated",))


def test_seller_search_by_sku(large_catalog):
    assert_indexed(Sellers.first_page(search="SCALE-4206"), uses=("catalog_variant_sku_trgm",))


def product_rows_read(queries: CaptureQueriesContext) -> list[tuple[int, str]]:
    """For each captured query that reads the catalog, the product rows its scans read (kept or filtered out),
    as EXPLAIN ANALYZE counts them."""
    read = []
    with connection.cursor() as cursor:
        for query in queries.captured_queries:
            sql = query["sql"]
            if not sql.startswith("SELECT") or '"catalog_product"' not in sql:
                continue
            cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}")
            nodes = _scans(cursor.fetchone()[0][0]["Plan"])
            rows = sum(
                (node["Actual Rows"] + node.get("Rows Removed by Filter", 0)) * node["Actual Loops"]
                for node in nodes
                if node.get("Relation Name") == "catalog_product"
            )
            read.append((rows, sql))
    assert read, "no query read the products"
    return read


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/", {}),
        ("/", {"page": "3", "max_price": "999999"}),
        ("/", {"ordering": "-price", "in_stock": "true"}),
        ("/", {"brand": "Zentra"}),
    ],
)
def test_a_listing_page_reads_a_bounded_share_of_the_catalog(large_catalog, client, path, params):
    """The page's count stops at LISTING_COUNT_CAP matches: no statement reads a tenth of the products, where the
    exact count read all 100,000 (a brand's eighth of them with `brand`)."""
    client.get(path, params)  # the brand list and the categories, cached per listing version
    queries = captured(lambda: client.get(path, {**params, "min_price": "1"}))
    for rows, sql in product_rows_read(queries):
        assert rows < PRODUCTS // 10, f"{rows} product rows read by:\n{sql}"
