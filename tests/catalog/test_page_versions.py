"""A cached product page depends only on what it shows.

Another product's sale, sell-out, restock, price or rating never empties it; what every product page
shares (whether its seller is shown, its store's name, its category, which product a web address
names) still shows on every page, and on the listings, on the very next request.
"""

import json
from decimal import Decimal

import pytest
from django.test import Client

from accounts.services.stores import store_save
from accounts.services.users import user_block, user_profile_update, user_unblock
from catalog.cache import bump_after_commit
from catalog.models import LOW_STOCK_THRESHOLD, ProductVariant
from catalog.selectors import MAX_QUANTITY_CHOICE
from catalog.services.products import product_create, product_delete, product_update
from catalog.services.stock import product_stock_adjust, product_stock_set
from catalog.services.summary import product_summary_refresh
from reviews.models import Review
from reviews.services import product_rating_recompute
from tests.cart.helpers import product_in_sizes
from tests.factories import CategoryFactory, StoreFactory, UserFactory
from tests.orders.helpers import buy_now, make_buyer

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def category():
    garden = CategoryFactory(name="Garden", slug="garden")
    return CategoryFactory(name="Planters", slug="planters", parent=garden)


def _product(title: str, sku: str, *, category, stock: int = 3, price: str = "650.00"):
    return product_create(
        store=StoreFactory(), title=title, category=category, sku=sku, price=Decimal(price), stock=stock
    )


@pytest.fixture
def planter(category):
    return _product("Terracotta planter", "TP-1", category=category)


@pytest.fixture
def lamp(category):
    return _product("Brass lamp", "BL-1", category=category, stock=50)


@pytest.fixture
def anonymous():
    return Client()


def pages_of(product) -> list[str]:
    """The responses cached under a product's versions: its page, its API detail and its reviews."""
    return [f"/products/{product.slug}/", f"/api/v1/products/{product.pk}/", f"/api/v1/products/{product.pk}/reviews/"]


def cached_now(client, paths: list[str]) -> None:
    for path in paths:
        client.get(path)
        assert client.get(path)["X-Cache"] == "hit", path


def sell_out_by_a_sale(planter):
    buy_now(make_buyer(), planter, 3)


def sell_out_by_the_seller(planter):
    product_stock_set(product=planter, value=0, expected=3)


def restock(planter):
    product_stock_adjust(product=planter, delta=5)


def reprice(planter):
    product_update(product=planter, price=Decimal("599.00"))


def rate(planter):
    product_rating_recompute(product_id=planter.pk)  # what every review write ends with


@pytest.mark.parametrize("change", [sell_out_by_a_sale, sell_out_by_the_seller, restock, reprice, rate])
def test_a_change_to_one_product_leaves_every_other_product_page_cached(anonymous, planter, lamp, change):
    if change is restock:
        product_stock_set(product=planter, value=0, expected=3)
    cached_now(anonymous, [*pages_of(planter), *pages_of(lamp), "/"])
    change(planter)
    for path in pages_of(lamp):
        assert anonymous.get(path)["X-Cache"] == "hit", path
    assert anonymous.get(f"/products/{planter.slug}/")["X-Cache"] == "miss"


def test_a_sell_out_shows_on_its_page_and_the_listing_at_once(anonymous, planter, lamp):
    cached_now(anonymous, [f"/products/{planter.slug}/", "/", "/categories/planters/"])
    sell_out_by_a_sale(planter)
    assert "Out of stock" in anonymous.get(f"/products/{planter.slug}/").content.decode()
    for listing in ("/", "/categories/planters/"):
        assert 'data-testid="out-of-stock"' in anonymous.get(listing).content.decode(), listing
    restock(planter)
    assert "Only 5 left" in anonymous.get(f"/products/{planter.slug}/").content.decode()
    assert 'data-testid="out-of-stock"' not in anonymous.get("/").content.decode()


def test_blocking_and_unblocking_a_seller_shows_on_the_next_request(anonymous, planter, lamp, admin_user):
    cached_now(anonymous, [*pages_of(planter), "/"])
    user_block(actor=admin_user, user=planter.store.user)
    assert anonymous.get(f"/products/{planter.slug}/").status_code == 404
    assert anonymous.get(f"/api/v1/products/{planter.pk}/").status_code == 404
    assert planter.title not in anonymous.get("/").content.decode()
    user_unblock(actor=admin_user, user=planter.store.user)
    assert anonymous.get(f"/products/{planter.slug}/").status_code == 200
    assert planter.title in anonymous.get("/").content.decode()


def test_renaming_a_store_shows_on_its_product_pages_and_the_listing_at_once(anonymous, planter):
    cached_now(anonymous, [*pages_of(planter), "/api/v1/products/"])
    store = planter.store
    store.name = "Clay Works"
    store_save(store=store, changed_fields=["name"])
    assert "Clay Works" in anonymous.get(f"/products/{planter.slug}/").content.decode()
    assert anonymous.get(f"/api/v1/products/{planter.pk}/").json()["store"]["name"] == "Clay Works"
    assert anonymous.get("/api/v1/products/").json()["results"][0]["store"]["name"] == "Clay Works"


@pytest.fixture
def admin_client(admin_user):
    client = Client()
    client.force_login(admin_user)
    return client


def _edit_category(admin_client, category, **changes) -> None:
    form = {
        "name": category.name,
        "slug": category.slug,
        "parent": category.parent_id or "",
        "description": category.description,
        "return_window_days": "" if category.return_window_days is None else category.return_window_days,
        **changes,
    }
    response = admin_client.post(f"/admin/catalog/category/{category.pk}/change/", form)
    assert response.status_code == 302, response.content.decode()[:2000]


def test_editing_a_category_in_the_admin_shows_on_its_product_pages_at_once(anonymous, admin_client, planter):
    page = f"/products/{planter.slug}/"
    cached_now(anonymous, [page, "/categories/planters/"])
    assert "7-day return" in anonymous.get(page).content.decode()
    _edit_category(admin_client, planter.category, name="Pots")
    assert ">Pots</a>" in anonymous.get(page).content.decode()
    assert "Pots" in anonymous.get("/categories/planters/").content.decode()
    _edit_category(admin_client, planter.category.parent, name="Outdoors", return_window_days=30)
    html = anonymous.get(page).content.decode()
    assert ">Outdoors</a>" in html and "30-day return" in html


def test_deactivating_and_reactivating_a_product_shows_on_the_next_request(anonymous, planter):
    cached_now(anonymous, [*pages_of(planter), "/"])
    product_update(product=planter, is_active=False)
    assert anonymous.get(f"/products/{planter.slug}/").status_code == 404
    assert anonymous.get(f"/api/v1/products/{planter.pk}/").status_code == 404
    assert planter.title not in anonymous.get("/").content.decode()
    product_update(product=planter, is_active=True)
    assert anonymous.get(f"/products/{planter.slug}/").status_code == 200
    assert planter.title in anonymous.get("/").content.decode()


def test_a_web_address_taken_over_by_a_new_product_shows_the_new_one_and_its_edits(anonymous, planter, category):
    page = f"/products/{planter.slug}/"
    cached_now(anonymous, [page])
    assert product_delete(product=planter)
    successor = _product("Terracotta planter", "TP-1", category=category, price="720.00")
    assert successor.slug == planter.slug
    assert "₹720.00" in anonymous.get(page).content.decode()
    product_update(product=successor, price=Decimal("710.00"))
    assert "₹710.00" in anonymous.get(page).content.decode()


def test_a_product_deleted_in_the_admin_is_gone_from_its_page_and_the_listing_at_once(anonymous, admin_client, planter):
    cached_now(anonymous, [*pages_of(planter), "/"])
    response = admin_client.post(f"/admin/catalog/product/{planter.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302, response.content.decode()[:2000]
    assert anonymous.get(f"/products/{planter.slug}/").status_code == 404
    assert anonymous.get(f"/api/v1/products/{planter.pk}/").status_code == 404
    assert planter.title not in anonymous.get("/").content.decode()


def test_a_reviewer_renaming_themselves_shows_on_the_pages_of_what_they_reviewed(anonymous, planter):
    reviewer = UserFactory(first_name="Asha", last_name="Rao")
    Review.objects.create(user=reviewer, product=planter, rating=4, comment="Sturdy.")
    cached_now(anonymous, pages_of(planter))
    assert "Asha R." in anonymous.get(f"/products/{planter.slug}/").content.decode()
    user_profile_update(user=reviewer, first_name="Asha", last_name="Iyer", email=reviewer.email)
    assert "Asha I." in anonymous.get(f"/products/{planter.slug}/").content.decode()
    assert anonymous.get(f"/api/v1/products/{planter.pk}/reviews/").json()["results"][0]["author"] == "Asha I."


# --- A sale refreshes a product page only when it changes what the page shows ---------------------------------


def _quantity_choices(html: str) -> int:
    picker = html[html.index('id="quantity"') : html.index("</select>", html.index('id="quantity"'))]
    return picker.count("<option ")


def _product_without_options(stock: int):
    return _product("Clay pot", "CP-1", category=CategoryFactory(), stock=stock)


def test_a_sale_that_leaves_the_page_as_it_was_keeps_it_cached_and_the_api_shows_the_exact_stock(anonymous):
    pot = _product_without_options(50)
    cached_now(anonymous, pages_of(pot))
    buy_now(make_buyer(), pot, 1)
    page, detail, reviews = (anonymous.get(path) for path in pages_of(pot))
    assert (page["X-Cache"], reviews["X-Cache"]) == ("hit", "hit")
    assert _quantity_choices(page.content.decode()) == 10
    assert detail["X-Cache"] == "miss"
    assert detail.json()["stock"] == 49 and detail.json()["variants"][0]["stock"] == 49


@pytest.mark.parametrize(
    ("stock", "bought", "choices", "says"),
    [
        (12, 3, 9, "In stock"),  # the quantity picker offers 9, not 10
        (10, 1, 9, "In stock"),
        (7, 2, 5, "Only 5 left"),
        (5, 1, 4, "Only 4 left"),
    ],
)
def test_a_sale_that_changes_what_the_page_shows_shows_on_the_next_request(anonymous, stock, bought, choices, says):
    pot = _product_without_options(stock)
    cached_now(anonymous, pages_of(pot))
    buy_now(make_buyer(), pot, bought)
    page = anonymous.get(f"/products/{pot.slug}/")
    assert page["X-Cache"] == "miss"
    assert _quantity_choices(page.content.decode()) == choices
    assert says in page.content.decode()
    assert anonymous.get(f"/api/v1/products/{pot.pk}/").json()["stock"] == stock - bought


def _variant_picker_stock(html: str) -> dict[int, int]:
    data = json.loads(html.split('id="variant-data" type="application/json">')[1].split("</script>")[0])
    return {variant["id"]: variant["stock"] for variant in data["variants"]}


def _shirt_in_sizes(*, small_stock: int, large_stock: int):
    """A product with options: sizes S and L with these stocks."""
    shirt, (small, large) = product_in_sizes("S", "L", title="Linen shirt")
    ProductVariant.objects.filter(pk=small.pk).update(stock=small_stock)
    ProductVariant.objects.filter(pk=large.pk).update(stock=large_stock)
    product_summary_refresh(product_ids=[shirt.pk])
    bump_after_commit(product_ids=[shirt.pk], listing=True)
    return shirt, small, large


def test_the_variant_picker_holds_no_more_of_each_variants_stock_than_the_quantity_picker_offers(anonymous):
    shirt, small, large = _shirt_in_sizes(small_stock=4, large_stock=2000)
    page = anonymous.get(f"/products/{shirt.slug}/?variant={small.pk}")
    assert _variant_picker_stock(page.content.decode()) == {small.pk: 4, large.pk: MAX_QUANTITY_CHOICE}
    assert "Only 4 left" in page.content.decode()
    assert anonymous.get(f"/api/v1/products/{shirt.pk}/").json()["stock"] == 2004  # the API's count is exact


def test_a_sale_of_a_product_with_options_refreshes_its_page_only_when_the_page_changes(anonymous):
    shirt, small, large = _shirt_in_sizes(small_stock=11, large_stock=2000)
    path = f"/products/{shirt.slug}/?variant={small.pk}"
    cached_now(anonymous, [path])
    buy_now(make_buyer(), large, 1)  # 1,999 left: the page shows 10 as before
    assert anonymous.get(path)["X-Cache"] == "hit"
    buy_now(make_buyer(), small, 1)  # 10 left: still 10
    assert anonymous.get(path)["X-Cache"] == "hit"
    buy_now(make_buyer(), small, 1)  # 9 left: the quantity picker offers 9
    page = anonymous.get(path)
    assert page["X-Cache"] == "miss"
    assert _variant_picker_stock(page.content.decode()) == {small.pk: 9, large.pk: MAX_QUANTITY_CHOICE}
    assert _quantity_choices(page.content.decode()) == 9


def test_the_page_shows_no_more_of_the_stock_than_page_stock_shown_keeps():
    """The rule above relies on it: "Only N left" is shown below what the quantity picker offers."""
    assert LOW_STOCK_THRESHOLD < MAX_QUANTITY_CHOICE
