"""A NUL character (U+0000) in anything a client sets is refused with 400 `invalid_text`, never a 500.

PostgreSQL cannot store or even compare a NUL: before this rule, a NUL reaching a query answered
500 there (the seller search `?q=`, an order number in the path, a review comment, a CSV cell, the
payment callback, a session cookie), and elsewhere the refusal had Django's code instead of ours.
Every test here holds on SQLite and PostgreSQL alike.
"""

import io
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from types import SimpleNamespace

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import DataError
from django.test import RequestFactory
from PIL import Image
from rest_framework.test import APIClient

from accounts.models import Address, Store, User
from accounts.services.sessions import tokens_issue
from cart.models import CartItem
from catalog.models import Product, ProductImage
from joycart.middleware import RefuseNulMiddleware
from joycart.text import has_nul
from orders.models import Order
from reviews.models import Review
from tests.factories import TEST_PASSWORD, CategoryFactory, ProductFactory, StoreFactory, UserFactory
from tests.orders.helpers import make_buyer
from tests.reviews.helpers import item_at

pytestmark = pytest.mark.django_db

NUL = "\x00"
REFUSED = {"detail": "Text cannot contain NUL characters.", "code": "invalid_text"}


@pytest.fixture
def shop():
    """A seller with a product, a buyer with an address, and a reviewer with a delivered item."""
    store = StoreFactory()
    category = CategoryFactory(slug="sarees")
    product = ProductFactory(store=store, category=category, stock=50)
    reviewed = ProductFactory(store=store, category=category, stock=50)
    reviewer = make_buyer()
    item_at(reviewer, reviewed)
    return SimpleNamespace(
        seller=store.user,
        category=category,
        product=product,
        reviewed=reviewed,
        buyer=make_buyer(),
        reviewer=reviewer,
        newcomer=UserFactory(),
    )


def bearer(user: User | None) -> APIClient:
    client = APIClient(raise_request_exception=False)
    if user is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens_issue(user=user).access}")
    return client


def page_client(client, user: User):
    response = client.post("/accounts/login/", {"username": user.username, "password": TEST_PASSWORD})
    assert response.status_code == 302, response.content.decode()
    return client


# --- the API ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Attack:
    who: str  # an attribute of `shop`, or "" for nobody logged in
    method: str
    path: Callable
    body: Callable | None = None
    headers: dict = field(default_factory=dict)
    # What the request would change if it got through: equal before and after.
    state: Callable = lambda shop: None


def _address(**changes) -> dict:
    return {
        "name": "Eve", "phone": "9876543210", "line1": "1 MG Road", "line2": "", "city": "Pune",
        "state": "MH", "pincode": "411001", **changes,
    }  # fmt: skip


def _product(shop, **changes) -> dict:
    return {
        "title": "Silk saree", "description": "", "category": shop.category.pk, "brand": "",
        "sku": "NEW-1", "price": "499.00", "stock": 1, **changes,
    }  # fmt: skip


def _checkout(shop, **changes) -> dict:
    return {
        "source": "buy_now", "product_id": shop.product.pk, "quantity": 1,
        "address_id": shop.buyer.address.pk, "payment_method": "COD", **changes,
    }  # fmt: skip


API_ATTACKS = {
    "register_with_nul_in_username": Attack(
        "",
        "post",
        lambda shop: "/api/v1/auth/register/",
        lambda shop: {"username": f"eve{NUL}", "email": "eve@example.com", "password": "Sup3r-Secret-99"},
        state=lambda shop: User.objects.count(),
    ),
    "login_with_nul_in_username": Attack(
        "", "post", lambda shop: "/api/v1/auth/login/", lambda shop: {"username": f"eve{NUL}", "password": "x"}
    ),
    "address_with_nul_in_line1": Attack(
        "buyer",
        "post",
        lambda shop: "/api/v1/addresses/",
        lambda shop: _address(line1=f"1 MG Road{NUL}"),
        state=lambda shop: Address.objects.count(),
    ),
    "address_with_nul_in_the_state_choice": Attack(
        "buyer",
        "post",
        lambda shop: "/api/v1/addresses/",
        lambda shop: _address(state=f"MH{NUL}"),
        state=lambda shop: Address.objects.count(),
    ),
    "store_with_nul_in_name": Attack(
        "newcomer",
        "post",
        lambda shop: "/api/v1/stores/",
        lambda shop: {"name": f"Eve{NUL}Shop"},
        state=lambda shop: Store.objects.count(),
    ),
    "product_create_with_nul_in_title": Attack(
        "seller",
        "post",
        lambda shop: "/api/v1/seller/products/",
        lambda shop: _product(shop, title=f"Silk{NUL}saree"),
        state=lambda shop: Product.objects.count(),
    ),
    "product_update_with_nul_in_description": Attack(
        "seller",
        "patch",
        lambda shop: f"/api/v1/seller/products/{shop.product.pk}/",
        lambda shop: {"description": f"Soft{NUL}"},
        state=lambda shop: Product.objects.values_list("description", "updated_at").get(pk=shop.product.pk),
    ),
    "review_with_nul_in_comment": Attack(
        "reviewer",
        "post",
        lambda shop: f"/api/v1/products/{shop.reviewed.pk}/reviews/",
        lambda shop: {"rating": 5, "comment": f"Lovely{NUL}"},
        state=lambda shop: Review.objects.count(),
    ),
    "cart_add_with_nul_in_product_id": Attack(
        "buyer",
        "post",
        lambda shop: "/api/v1/cart/items/",
        lambda shop: {"product_id": f"{shop.product.pk}{NUL}", "quantity": 1},
        state=lambda shop: CartItem.objects.count(),
    ),
    "cart_add_with_nul_in_an_unknown_key": Attack(
        "buyer",
        "post",
        lambda shop: "/api/v1/cart/items/",
        lambda shop: {"product_id": shop.product.pk, "quantity": 1, f"note{NUL}": "x"},
        state=lambda shop: CartItem.objects.count(),
    ),
    "checkout_with_nul_in_idempotency_key": Attack(
        "buyer",
        "post",
        lambda shop: "/api/v1/checkout/",
        _checkout,
        headers={"HTTP_IDEMPOTENCY_KEY": f"key-1{NUL}"},
        state=lambda shop: Order.objects.count(),
    ),
    "checkout_with_nul_in_payment_method": Attack(
        "buyer",
        "post",
        lambda shop: "/api/v1/checkout/",
        lambda shop: _checkout(shop, payment_method=f"COD{NUL}"),
        headers={"HTTP_IDEMPOTENCY_KEY": "key-2"},
        state=lambda shop: Order.objects.count(),
    ),
    "listing_search_q_with_nul": Attack("", "get", lambda shop: "/api/v1/products/?search=silk%00"),
    "listing_ordering_with_nul": Attack("", "get", lambda shop: "/api/v1/products/?ordering=price%00"),
    "listing_category_slug_with_nul": Attack("", "get", lambda shop: "/api/v1/products/?category=sarees%00"),
    "seller_search_q_with_nul": Attack("seller", "get", lambda shop: "/api/v1/seller/products/?q=silk%00"),
    "page_number_with_nul": Attack("buyer", "get", lambda shop: "/api/v1/orders/?page=1%00"),
    "access_cookie_with_nul": Attack(
        "", "get", lambda shop: "/api/v1/auth/me/", headers={"HTTP_COOKIE": f"jc_access=abc{NUL}def"}
    ),
}


@pytest.mark.parametrize("attack", API_ATTACKS.values(), ids=API_ATTACKS.keys())
def test_api_refuses_nul_with_invalid_text_and_writes_nothing(shop, attack):
    client = bearer(getattr(shop, attack.who) if attack.who else None)
    before = attack.state(shop)
    send = getattr(client, attack.method)
    kwargs = {"format": "json"} if attack.body is not None else {}
    body = attack.body(shop) if attack.body is not None else None
    response = send(attack.path(shop), body, **kwargs, **attack.headers)
    assert response.status_code == 400, response.content
    assert response.json() == REFUSED
    assert attack.state(shop) == before


def image_upload() -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), "teal").save(buffer, format="PNG")
    return SimpleUploadedFile("photo.png", buffer.getvalue(), content_type="image/png")


def test_a_multipart_field_with_nul_keeps_its_field_error_and_carries_the_code(shop):
    """Multipart bodies reach the serializer: the field says why, and the code is where every refusal has it."""
    response = bearer(shop.seller).post(
        f"/api/v1/seller/products/{shop.product.pk}/images/",
        {"image": image_upload(), "alt": f"Front{NUL}"},
        format="multipart",
    )
    assert response.status_code == 400
    assert response.json() == {"alt": ["Text cannot contain NUL characters."], "code": "invalid_text"}
    assert not ProductImage.objects.exists()


# --- pages: the form error beside the field ----------------------------------------------


@dataclass(frozen=True)
class FormAttack:
    who: str
    path: Callable
    data: Callable
    field: str
    state: Callable


PAGE_FORM_ATTACKS = {
    "register_with_nul_in_username": FormAttack(
        "",
        lambda shop: "/accounts/register/",
        lambda shop: {
            "username": f"eve{NUL}",
            "email": "eve@example.com",
            "password1": "Sup3r-Secret-99",
            "password2": "Sup3r-Secret-99",
        },
        "username",
        lambda shop: User.objects.count(),
    ),
    "address_with_nul_in_line1": FormAttack(
        "buyer",
        lambda shop: "/accounts/addresses/new/",
        lambda shop: _address(line1=f"1 MG Road{NUL}"),
        "line1",
        lambda shop: Address.objects.count(),
    ),
    "store_with_nul_in_description": FormAttack(
        "newcomer",
        lambda shop: "/accounts/become-a-seller/",
        lambda shop: {"name": "Eve's", "description": f"Sarees{NUL}"},
        "description",
        lambda shop: Store.objects.count(),
    ),
    "product_with_nul_in_sku": FormAttack(
        "seller",
        lambda shop: "/seller/products/new/",
        lambda shop: {**_product(shop, sku=f"NEW{NUL}1"), "mrp": ""},
        "sku",
        lambda shop: Product.objects.count(),
    ),
    "product_edit_with_nul_in_title": FormAttack(
        "seller",
        lambda shop: f"/seller/products/{shop.product.pk}/edit/",
        lambda shop: {**_product(shop, title=f"Silk{NUL}", sku=shop.product.variants.get().sku), "mrp": ""},
        "title",
        lambda shop: Product.objects.values_list("title", "updated_at").get(pk=shop.product.pk),
    ),
    "review_with_nul_in_comment": FormAttack(
        "reviewer",
        lambda shop: f"/products/{shop.reviewed.slug}/review/",
        lambda shop: {"rating": "5", "comment": f"Lovely{NUL}"},
        "comment",
        lambda shop: Review.objects.count(),
    ),
}


@pytest.mark.parametrize("attack", PAGE_FORM_ATTACKS.values(), ids=PAGE_FORM_ATTACKS.keys())
def test_page_forms_show_invalid_text_beside_the_field_and_write_nothing(client, shop, attack):
    """Re-rendered with 200 like every refused form of the site, the error beside its field."""
    if attack.who:
        page_client(client, getattr(shop, attack.who))
    before = attack.state(shop)
    response = client.post(attack.path(shop), attack.data(shop))
    assert response.status_code == 200
    assert response.context["form"].has_error(attack.field, code="invalid_text")
    assert "Text cannot contain NUL characters." in response.content.decode()
    assert attack.state(shop) == before


# --- pages: what no form reads --------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        ("/?search=silk%00", {}),
        ("/?ordering=%00", {}),
        ("/categories/sarees/?brand=Acme%00", {}),
        ("/orders/JC%00/", {}),
        ("/accounts/login/", {"HTTP_COOKIE": f"sessionid=abcdefgh{NUL}ijklmnop"}),
        ("/admin/", {"HTTP_COOKIE": f"sessionid=abcdefgh{NUL}ijklmnop"}),
    ],
    ids=["search_q", "ordering", "brand_filter", "order_number_in_path", "session_cookie", "admin_session_cookie"],
)
def test_pages_refuse_nul_in_the_path_query_or_cookies_with_a_400_page(shop, path, headers):
    client = page_client(APIClient(raise_request_exception=False), shop.buyer)
    response = client.get(path, **headers)
    assert response.status_code == 400
    assert "Text cannot contain NUL characters." in response.content.decode()


def test_payment_callback_with_nul_in_the_failures_order_id_is_a_400(client):
    """The gateway order id is looked up; in a failure's metadata JSON a NUL hides as \\u0000."""
    metadata = json.dumps({"order_id": f"order_{NUL}", "payment_id": "pay_1"})
    response = client.post("/payments/razorpay/callback/", {"error[metadata]": metadata})
    assert response.status_code == 400
    assert "Text cannot contain NUL characters." in response.content.decode()


# --- the safety net ---------------------------------------------------------------------------


def test_a_view_failing_on_a_nul_it_should_have_refused_is_still_a_400_and_logged(caplog):
    """A future view that queries with a posted field, unchecked, must not turn a NUL into a 500."""
    request = RequestFactory().post("/somewhere/", {"name": f"eve{NUL}"})
    middleware = RefuseNulMiddleware(lambda request: None)
    with caplog.at_level(logging.WARNING, logger="joycart.middleware"):
        response = middleware.process_exception(request, DataError("cannot contain NUL"))
    assert response.status_code == 400
    assert "Text cannot contain NUL characters." in response.content.decode()
    assert "reached code that failed on it" in caplog.text


def test_the_safety_net_leaves_other_failures_alone():
    request = RequestFactory().post("/somewhere/", {"name": "eve"})
    assert RefuseNulMiddleware(lambda request: None).process_exception(request, DataError("boom")) is None


def test_has_nul_walks_deep_documents_without_recursion():
    deep: list = [f"a{NUL}"]
    for _ in range(5_000):
        deep = [deep]
    assert has_nul(deep)
    assert has_nul({"key": {f"k{NUL}": 1}})
    assert not has_nul({"key": ["text", 1, None, {"more": "text"}]})
