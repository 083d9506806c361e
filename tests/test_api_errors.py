"""The error registry and what is derived from it: the API's error bodies, and the OpenAPI document.

The whole-schema fuzzing is in test_api_contract.py; these pin the rules it relies on, one by one.
"""

import pytest
from django.http import JsonResponse
from django.test import override_settings
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from cart.errors import OutOfStock
from joycart import errors
from joycart.errors import ERROR_CODES, DomainError, UnregisteredErrorCode, api_exception_handler
from joycart.openapi import LINKS
from orders.errors import IdempotencyKeyReused
from tests.api_contract import response_check
from tests.factories import AddressFactory, CategoryFactory, ProductFactory, StoreFactory, UserFactory
from tests.orders.helpers import bearer


@pytest.fixture(scope="module")
def openapi(django_db_blocker) -> dict:
    with django_db_blocker.unblock():
        return SchemaGenerator().get_schema(request=None, public=True)


def operation(openapi: dict, path: str, method: str) -> dict:
    return openapi["paths"][f"/api/v1/{path}"][method]


def codes_at(openapi: dict, path: str, method: str, status_code: int) -> list[str]:
    response = operation(openapi, path, method)["responses"][str(status_code)]
    return response["content"]["application/json"]["schema"]["properties"]["code"]["enum"]


# --- the registry -----------------------------------------------------------------------


def test_a_code_is_declared_once_per_status():
    with pytest.raises(TypeError, match="declared twice"):

        class AgainOutOfStock(DomainError):
            code = OutOfStock.code


def test_every_domain_error_is_registered_with_its_status_and_message():
    assert ERROR_CODES[(400, "out_of_stock")].message == OutOfStock.message
    assert ERROR_CODES[(409, "idempotency_key_reused")].message == IdempotencyKeyReused.message


def test_an_unregistered_code_fails_loudly_under_test_and_is_logged_in_production(caplog, monkeypatch):
    from rest_framework import exceptions

    unknown = exceptions.APIException(detail="odd", code="nobody_declared_me")
    with pytest.raises(UnregisteredErrorCode):
        api_exception_handler(unknown, {})
    monkeypatch.setattr(errors, "strict_error_codes", False)
    response = api_exception_handler(unknown, {})
    assert response.status_code == 500 and response.data["code"] == "nobody_declared_me"
    assert "unregistered error code 'nobody_declared_me'" in caplog.text


# --- the bodies -------------------------------------------------------------------------


@pytest.mark.django_db
def test_field_errors_carry_the_code_on_top_beside_each_field():
    api = bearer(UserFactory())
    response = api.post("/api/v1/addresses/", {"name": "A"}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid" and "phone" in body and isinstance(body["phone"], list)


@pytest.mark.django_db
def test_a_path_no_url_matches_under_the_api_answers_json_404():
    response = APIClient().get("/api/v1/orders/not-a-number/")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Not found.", "code": "not_found"}


@pytest.mark.django_db
def test_a_page_path_no_url_matches_still_answers_the_html_page():
    response = APIClient().get("/no-such-page/")
    assert response.status_code == 404 and response["Content-Type"].startswith("text/html")


@pytest.mark.django_db
@override_settings(ALLOWED_HOSTS=["testserver"])
def test_a_bad_host_under_the_api_answers_json_400():
    response = APIClient().get("/api/v1/products/", HTTP_HOST="evil.example")
    assert response.status_code == 400
    assert response.json()["code"] == "bad_request"


# --- strict input -----------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("field", "value"),
    [("phone", 9876543210), ("is_default", 0), ("name", 7), ("pincode", 400001), ("phone", "98765 43210*")],
)
def test_an_address_value_of_another_json_type_is_refused_not_guessed(field, value):
    api = bearer(UserFactory())
    body = {"name": "A", "phone": "9876543210", "line1": "1 St", "city": "Pune", "state": "MH", "pincode": "411001"}
    response = api.post("/api/v1/addresses/", {**body, field: value}, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "invalid" and field in response.json()


@pytest.mark.django_db
def test_a_phone_typed_as_people_type_it_is_kept_as_ten_digits():
    api = bearer(UserFactory())
    body = {"name": "A", "phone": "+91 98765-43210", "line1": "1 St", "city": "Pune", "state": "MH"}
    response = api.post("/api/v1/addresses/", {**body, "pincode": "411001"}, format="json")
    assert response.status_code == 201 and response.json()["phone"] == "9876543210"


@pytest.mark.django_db
def test_a_price_sent_as_a_json_number_is_refused():
    store = StoreFactory()
    body = {"title": "Lamp", "category": CategoryFactory().pk, "sku": "LAMP-1", "price": 499, "stock": 1}
    response = bearer(store.user).post("/api/v1/seller/products/", body, format="json")
    assert response.status_code == 400 and "price" in response.json()


@pytest.mark.django_db
@pytest.mark.parametrize("quantity", ["2", True, 2.0])
def test_a_quantity_that_is_not_a_json_integer_is_invalid_quantity(quantity):
    response = bearer(UserFactory()).post(
        "/api/v1/cart/items/", {"product_id": ProductFactory().pk, "quantity": quantity}, format="json"
    )
    assert response.status_code == 400 and response.json()["code"] == "invalid_quantity"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "status_code"),
    [
        ("page_size=0", 400),
        ("page_size=101", 400),
        ("page_size=abc", 400),
        ("page=", 200),
        ("page_size=", 200),
        ("page=last", 404),
        ("page=0", 404),
    ],
)
def test_paging_parameters_are_read_strictly_and_blank_is_absent(query, status_code):
    user = UserFactory()
    AddressFactory(user=user)
    response = bearer(user).get(f"/api/v1/addresses/?{query}")
    assert response.status_code == status_code, response.content
    if status_code != 200:
        assert response.json()["code"] == ("invalid" if status_code == 400 else "not_found")


@pytest.mark.django_db
@pytest.mark.parametrize("query", ["in_stock=maybe", "in_stock=null", "min_price=abc", "ordering=cheapest"])
@pytest.mark.parametrize("who", ["anonymous", "shopper"])
def test_a_listing_filter_refuses_a_value_it_cannot_read(query, who):
    api = APIClient() if who == "anonymous" else bearer(UserFactory())  # the shared cache, and not
    response = api.get(f"/api/v1/products/?{query}")
    assert response.status_code == 400 and response.json()["code"] == "invalid"


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["anonymous", "shopper"])
def test_a_blank_query_parameter_is_an_absent_one(who):
    ProductFactory(title="Brass lamp", stock=0)
    api = APIClient() if who == "anonymous" else bearer(UserFactory())
    response = api.get("/api/v1/products/?search=&min_price=&in_stock=&ordering=&page=")
    assert response.status_code == 200 and response.json()["results"][0]["title"] == "Brass lamp"


@pytest.mark.django_db
def test_the_shop_page_still_takes_its_forms_blank_filters(client):
    ProductFactory(title="Brass lamp", stock=0)
    response = client.get("/?search=&min_price=&in_stock=&ordering=")
    assert response.status_code == 200 and b"Brass lamp" in response.content


@pytest.mark.django_db
def test_the_seller_product_list_refuses_an_unknown_status():
    store = StoreFactory()
    response = bearer(store.user).get("/api/v1/seller/products/?status=cheap")
    assert response.status_code == 400 and "status" in response.json()


# --- the OpenAPI document ---------------------------------------------------------------


def test_an_operation_documents_exactly_the_codes_its_service_declares(openapi):
    assert set(codes_at(openapi, "cart/items/", "post", 400)) >= {
        "out_of_stock",
        "own_product",
        "cart_full",
        "invalid",
        "parse_error",
    }
    assert codes_at(openapi, "checkout/", "post", 409) == ["idempotency_key_reused"]
    assert "out_of_stock" not in codes_at(openapi, "addresses/", "post", 400)


def test_each_error_response_lists_the_registrys_messages(openapi):
    description = operation(openapi, "checkout/", "post")["responses"]["409"]["description"]
    assert description == f"- `idempotency_key_reused`: {IdempotencyKeyReused.message}"


def test_who_may_ask_decides_the_401_403_and_404_documented(openapi):
    public_list = operation(openapi, "products/", "get")["responses"]
    assert "not_authenticated" not in codes_at(openapi, "products/", "get", 401)  # a bad token is still 401
    assert "403" not in public_list
    assert "not_authenticated" in codes_at(openapi, "cart/", "get", 401)
    assert codes_at(openapi, "seller/products/", "get", 403) == ["permission_denied"]
    assert "404" not in operation(openapi, "cart/", "get")["responses"]  # nothing in its path to miss


def test_a_throttled_operation_documents_retry_after(openapi):
    response = operation(openapi, "auth/login/", "post")["responses"]["429"]
    assert "Retry-After" in response["headers"]
    assert codes_at(openapi, "auth/login/", "post", 429) == ["login_throttled"]


def test_nullable_fields_are_documented_nullable(openapi):
    assert openapi["components"]["schemas"]["Category"]["properties"]["parent"]["nullable"] is True


def test_creating_operations_link_to_the_operations_that_use_their_ids(openapi):
    links = operation(openapi, "checkout/", "post")["responses"]["201"]["links"]
    assert links["CancelItem"] == {
        "operationId": "orders_items_cancel_create",
        "parameters": {"order_id": "$response.body#/id", "item_id": "$response.body#/items/0/id"},
    }
    documented = {
        each["operationId"]
        for methods in openapi["paths"].values()
        for each in methods.values()
        if "operationId" in each
    }
    for links_of_one in LINKS.values():
        assert {target for target, _ in links_of_one.values()} <= documented


# --- the plugin that holds every test's API answers to the document ---------------------


@pytest.mark.outside_contract
@pytest.mark.parametrize(
    ("status_code", "body"),
    [(418, {"detail": "x", "code": "not_found"}), (401, {"detail": "x", "code": "out_of_stock"}), (200, {"lines": 3})],
)
def test_the_suites_contract_check_refuses_an_undocumented_answer(status_code, body):
    with pytest.raises(AssertionError):
        response_check("GET", "/api/v1/cart/", JsonResponse(body, status=status_code))


@pytest.mark.outside_contract
def test_the_suites_contract_check_passes_a_documented_answer():
    response_check("GET", "/api/v1/cart/", JsonResponse({"detail": "x", "code": "not_authenticated"}, status=401))
