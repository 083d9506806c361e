"""The API keeps its OpenAPI contract: schemathesis over every operation of the schema, against a live server.

Each operation is fuzzed with data that fits the schema and data that does not, as a shopper, as a
seller and anonymously, and then the stateful phase follows the schema's links (checkout -> the order and its items,
cart line -> its update and delete, address, product, image, review). Every response must pass:
- `not_a_server_error`: no 5xx, whatever comes in;
- `status_code_conformance`: every status answered is documented for the operation;
- `content_type_conformance`: as documented;
- `response_schema_conformance`: the body fits the documented schema, error codes included;
- `negative_data_rejection`: input the schema forbids is refused with a 4xx.

The schema is the one the app serves, generated in-process; the requests go over HTTP to a live server
on the test database (PostgreSQL in CI). `FUZZ_EXAMPLES` (default 25) sets the examples per operation,
and the stateful phase's scenarios, for longer local runs.
"""

import json
import os
import uuid

import pytest
import schemathesis
from django.core.serializers.json import DjangoJSONEncoder
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from accounts.services.sessions import tokens_issue
from catalog.services.variants import product_options_set
from joycart.openapi import LINKS
from orders.models import ActorRole, OrderItemStatus
from orders.services.lifecycle import order_item_transition
from tests.catalog.test_seller_pages import image_upload
from tests.factories import AddressFactory, CategoryFactory, ProductFactory, StoreFactory
from tests.orders.helpers import bearer, buy_now, items_of, make_buyer

FUZZ_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "25"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
]


def _served_schema() -> dict:
    """What /api/v1/schema/ serves, as JSON (drf-spectacular's own generator, no request needed)."""
    document = SchemaGenerator().get_schema(request=None, public=True)
    return json.loads(json.dumps(document, cls=DjangoJSONEncoder))


schema = schemathesis.openapi.from_dict(_served_schema())
schema.config.generation.update(
    modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
    max_examples=FUZZ_EXAMPLES,
    database="none",
    # Each test authenticates as one user itself; generated tokens would only test the 401 path.
    with_security_parameters=False,
    no_shrink=os.environ.get("FUZZ_SHRINK", "1") == "0",
)

fuzz_settings = settings(
    max_examples=FUZZ_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    # Health checks judge the generator, not the app; the shop fixture is meant to be shared by examples.
    suppress_health_check=list(HealthCheck),
)


class Shop:
    """A small shop seen by two users: a shopper with an address, a delivered item and a placed one,
    and a seller with products, one of them ordered by the shopper."""

    def __init__(self) -> None:
        self.category = CategoryFactory(parent=CategoryFactory())
        self.seller = StoreFactory().user
        self.products = [ProductFactory(store=self.seller.store, category=self.category, stock=1000) for _ in range(3)]
        self.shopper = make_buyer()
        self.seller.address = AddressFactory(user=self.seller, is_default=True)
        delivered = items_of(buy_now(self.shopper, self.products[0]))[0]
        for status in (OrderItemStatus.CONFIRMED, OrderItemStatus.SHIPPED, OrderItemStatus.DELIVERED):
            order_item_transition(item_id=delivered.pk, to_status=status, actor=self.seller, role=ActorRole.SELLER)
        buy_now(self.shopper, self.products[1])
        self.elsewhere = ProductFactory(category=self.category, stock=1000)  # another seller's

    def headers(self, user) -> dict[str, str]:
        return {"Authorization": f"Bearer {tokens_issue(user=user).access}"}


@pytest.fixture
def shop(transactional_db, sandbox_gateway) -> Shop:
    """The shop, with the payment sandbox answering: paying for an online order must reach a gateway."""
    return Shop()


@pytest.fixture(params=["shopper", "seller", "anonymous"])
def caller(request, shop) -> dict[str, str]:
    """Whose requests these are; an anonymous one is also what the shared response cache serves."""
    return {} if request.param == "anonymous" else shop.headers(getattr(shop, request.param))


def _call(case, base_url: str, headers: dict[str, str]):
    if case.operation.method.upper() == "POST" and case.operation.path == "/api/v1/checkout/":
        # A fresh key for each example, so examples do not replay each other's orders.
        headers = {**headers, "Idempotency-Key": uuid.uuid4().hex}
    return case.call_and_validate(base_url=base_url, headers=headers, checks=CHECKS)


@schema.parametrize()
@fuzz_settings
def test_every_operation_keeps_its_contract(case, live_server, caller):
    _call(case, live_server.url, caller)


def _fresh_user(shop: Shop, role: str):
    """A new user of `role` with a default address: what a scenario starts from."""
    if role == "shopper":
        return make_buyer()
    seller = StoreFactory().user
    seller.address = AddressFactory(user=seller, is_default=True)
    return seller


@pytest.mark.parametrize("role", ["shopper", "seller"])
def test_the_links_between_operations_keep_the_contract(live_server, shop, role):
    class Machine(schema.as_state_machine()):
        def setup(self):
            """Each scenario acts as a new user, so its lists (addresses, cart, orders, products) start the same
            whatever earlier scenarios made, and hypothesis draws the same when it replays one."""
            self.user = _fresh_user(shop, role)
            self.headers = shop.headers(self.user)

        def get_call_kwargs(self, case):
            return {"base_url": live_server.url, "headers": self.headers}

        def before_call(self, case):
            """Creating calls refer to rows that exist, so what they create can be followed; the rest is fuzzed."""
            label = case.operation.label
            if not isinstance(case.body, dict) or case.meta is None or case.meta.generation.mode.is_negative:
                return  # invalid data stays as generated: it is the server's to refuse
            if label == "POST /api/v1/checkout/":
                case.body.update(source="buy_now", product_id=shop.elsewhere.pk, address_id=self.user.address.pk)
                case.headers = {**(case.headers or {}), "Idempotency-Key": uuid.uuid4().hex}
            elif label == "POST /api/v1/cart/items/":
                case.body["product_id"] = shop.elsewhere.pk
            elif label == "POST /api/v1/seller/products/":
                case.body.update(category=shop.category.pk, sku=f"FUZZ-{uuid.uuid4().hex[:12]}")

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            case.validate_response(response, checks=CHECKS, transport_kwargs=kwargs)

    Machine.run(
        settings=settings(
            max_examples=2 * FUZZ_EXAMPLES,  # scenarios: each follows a few links from a creating call
            stateful_step_count=10,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
    )


# --- the links themselves -------------------------------------------------------------------
# The stateful phase follows links at random; this follows each one once, on purpose: created
# through the API, the runtime expressions read off the real response, the target must find it.

SOURCES = {
    "checkout_create": ("shopper", "post", "/api/v1/checkout/", {}),
    "cart_items_create": ("shopper", "post", "/api/v1/cart/items/", {}),
    "addresses_create": ("shopper", "post", "/api/v1/addresses/", {}),
    "seller_products_create": ("seller", "post", "/api/v1/seller/products/", {}),
    "seller_products_images_create": ("seller", "post", "/api/v1/seller/products/{id}/images/", {"id": "product"}),
    "seller_products_variants_create": (
        "seller",
        "post",
        "/api/v1/seller/products/{product_id}/variants/",
        {"product_id": "product"},
    ),
    "products_reviews_create": ("shopper", "post", "/api/v1/products/{id}/reviews/", {"id": "delivered"}),
}
TARGET_BODIES = {"orders_items_cancel_create": {"reason": "Ordered twice."}, "addresses_update": None}


def _source_body(operation_id: str, shop: Shop, user) -> tuple[dict, str]:
    """A request body that creates, and the format to send it in."""
    if operation_id == "checkout_create":
        body = {"source": "buy_now", "product_id": shop.elsewhere.pk, "quantity": 1, "address_id": user.address.pk}
        return {**body, "payment_method": "COD"}, "json"
    if operation_id == "cart_items_create":
        return {"product_id": shop.elsewhere.pk, "quantity": 1}, "json"
    if operation_id == "addresses_create":
        return {
            "name": "A",
            "phone": "9876543210",
            "line1": "1 St",
            "city": "Pune",
            "state": "MH",
            "pincode": "411001",
        }, "json"
    if operation_id == "seller_products_create":
        return {"title": "Lamp", "category": shop.category.pk, "sku": "LINK-1", "price": "10.00", "stock": 5}, "json"
    if operation_id == "seller_products_images_create":
        return {"image": image_upload()}, "multipart"
    if operation_id == "seller_products_variants_create":
        # A second size: the product's one variant becomes "M".
        product_options_set(product=shop.products[0], options=[{"name": "Size", "values": ["M", "L"]}])
        return {"sku": "LINK-L", "option_values": ["L"], "price": "10.00", "stock": 3}, "json"
    return {"rating": 5, "comment": "Lovely."}, "json"


def _resolve(expression: str, *, body: dict, path_parameters: dict) -> object:
    if expression.startswith("$request.path."):
        return path_parameters[expression.removeprefix("$request.path.")]
    value: object = body
    for step in expression.removeprefix("$response.body#/").split("/"):
        value = value[int(step)] if isinstance(value, list) else value[step]
    return value


def _operations() -> dict[str, tuple[str, str]]:
    return {
        each["operationId"]: (method, path)
        for path, methods in schema.raw_schema["paths"].items()
        for method, each in methods.items()
        if isinstance(each, dict) and "operationId" in each
    }


# A checkout retry's 200 carries the same links as its 201, built from the same table.
@pytest.mark.parametrize(("source", "status_code"), sorted(key for key in LINKS if key[1] != "200"))
def test_each_link_leads_to_what_its_source_created(shop, source, status_code):
    role, method, path, path_objects = SOURCES[source]
    user = getattr(shop, role)
    api = bearer(user)
    path_parameters = {
        name: {"product": shop.products[0], "delivered": shop.products[0]}[kind].pk
        for name, kind in path_objects.items()
    }
    body, body_format = _source_body(source, shop, user)
    created = getattr(api, method)(
        path.format(**path_parameters), body, format=body_format, HTTP_IDEMPOTENCY_KEY=uuid.uuid4().hex
    )
    assert str(created.status_code) == status_code, created.content
    operations = _operations()
    for name, (target, parameters) in LINKS[(source, status_code)].items():
        values = {
            key: _resolve(expression, body=created.json(), path_parameters=path_parameters)
            for key, expression in parameters.items()
        }
        target_method, target_path = operations[target]
        # The seller's item actions are followed by the seller of what was bought.
        follower = shop.elsewhere.store.user if target.startswith("seller_order_items") else user
        followed = getattr(bearer(follower), target_method)(
            target_path.format(**values), TARGET_BODIES.get(target, {}), format="json"
        )
        assert followed.status_code not in (404, 500), (name, followed.status_code, followed.content)
