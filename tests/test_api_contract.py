"""The API keeps its OpenAPI contract: schemathesis over every operation of the schema, against a live server.

Each operation is fuzzed with data that fits the schema and data that does not, as a shopper and as a
seller, and then the stateful phase follows the schema's links (checkout -> the order and its items,
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
from orders.models import ActorRole, OrderItemStatus
from orders.services.lifecycle import order_item_transition
from tests.factories import AddressFactory, CategoryFactory, ProductFactory, StoreFactory
from tests.orders.helpers import buy_now, items_of, make_buyer

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
def shop(transactional_db) -> Shop:
    return Shop()


@pytest.fixture(params=["shopper", "seller"])
def caller(request, shop) -> dict[str, str]:
    return shop.headers(getattr(shop, request.param))


def _call(case, base_url: str, headers: dict[str, str]):
    if case.operation.method.upper() == "POST" and case.operation.path == "/api/v1/checkout/":
        # A fresh key for each example, so examples do not replay each other's orders.
        headers = {**headers, "Idempotency-Key": uuid.uuid4().hex}
    return case.call_and_validate(base_url=base_url, headers=headers, checks=CHECKS)


@schema.parametrize()
@fuzz_settings
def test_every_operation_keeps_its_contract(case, live_server, caller):
    _call(case, live_server.url, caller)


# Operations that look their ids up before reading the body, so an answer other than 404 means the
# stateful phase reached them with an id that a link took from an earlier response.
REACHED_THROUGH_LINKS = {
    "shopper": {"POST /api/v1/orders/{order_id}/items/{item_id}/cancel/", "GET /api/v1/orders/{order_id}/"},
    "seller": {"POST /api/v1/seller/products/{id}/stock/", "PATCH /api/v1/seller/products/{id}/"},
}


@pytest.mark.parametrize("role", ["shopper", "seller"])
def test_the_links_between_operations_keep_the_contract(live_server, shop, role):
    user = getattr(shop, role)
    headers = shop.headers(user)
    answered: set[tuple[str, int]] = set()

    class Machine(schema.as_state_machine()):
        def get_call_kwargs(self, case):
            return {"base_url": live_server.url, "headers": headers}

        def before_call(self, case):
            """Creating calls refer to rows that exist, so what they create can be followed; the rest is fuzzed."""
            label = case.operation.label
            if not isinstance(case.body, dict):
                return
            if label == "POST /api/v1/checkout/":
                case.body.update(source="buy_now", product_id=shop.elsewhere.pk, address_id=user.address.pk)
                case.headers = {**(case.headers or {}), "Idempotency-Key": uuid.uuid4().hex}
            elif label == "POST /api/v1/cart/items/":
                case.body["product_id"] = shop.elsewhere.pk
            elif label == "POST /api/v1/seller/products/":
                case.body.update(category=shop.category.pk, sku=f"FUZZ-{uuid.uuid4().hex[:12]}")

        def after_call(self, response, case):
            answered.add((case.operation.label, response.status_code))

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
    reached = {label for label, status_code in answered if status_code != 404}
    assert REACHED_THROUGH_LINKS[role] <= reached, sorted(answered)
