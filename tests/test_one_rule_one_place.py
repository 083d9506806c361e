"""Each rule is written once and every door applies it: the model (and so the admin), the service,
the seller form, the API serializer and the CSV import refuse the same input with the same words.

The behaviour tests below fail when a door stops applying a rule; the source checks at the end
fail when a rule, a lock or a parser is written a second time instead of called.
"""

import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError

from accounts.forms import AddressForm
from accounts.serializers import AddressSerializer
from accounts.services.addresses import address_create
from catalog.errors import InvalidPrice, InvalidStock
from catalog.forms import ProductCreateForm
from catalog.models import Product, ProductVariant
from catalog.serializers import SellerProductInputSerializer
from catalog.services.imports import products_import_csv
from catalog.services.products import product_create
from catalog.services.variants import variant_create
from catalog.validators import MAX_STOCK
from tests.catalog.test_imports import import_errors
from tests.factories import CategoryFactory, ProductFactory, StoreFactory, UserFactory

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent
APPS = ["accounts", "analytics", "cart", "catalog", "joycart", "orders", "payments", "reviews"]
MRP_BELOW_PRICE = "The MRP must be at least the price."


def _product_details(category, **overrides) -> dict:
    return {
        "title": "Silk saree",
        "category": category.pk,
        "sku": "SAREE-1",
        "price": "1000.00",
        "mrp": "999.99",
        "stock": "3",
        **overrides,
    }


class TestMrpNotBelowPrice:
    def test_the_variant_model(self):
        variant = ProductFactory(price=Decimal("100.00"), mrp=None).variants.get()
        variant.mrp = Decimal("99.99")
        with pytest.raises(ValidationError) as exc:
            variant.full_clean()
        assert exc.value.message_dict["mrp"] == [MRP_BELOW_PRICE]

    def test_the_service(self):
        with pytest.raises(InvalidPrice) as exc:
            product_create(
                store=StoreFactory(), title="T", category=CategoryFactory(), sku="A-1",
                price=Decimal("10.00"), mrp=Decimal("9.00"),
            )  # fmt: skip
        assert exc.value.message == MRP_BELOW_PRICE

    def test_the_variant_service(self):
        product = ProductFactory(price=Decimal("100.00"))
        with pytest.raises(InvalidPrice) as exc:
            variant_create(product=product, sku="B-1", price=Decimal("10.00"), mrp=Decimal("9.00"), option_values=[])
        assert exc.value.message == MRP_BELOW_PRICE

    def test_the_seller_form(self):
        form = ProductCreateForm(data=_product_details(CategoryFactory()))
        assert not form.is_valid()
        assert form.errors["mrp"] == [MRP_BELOW_PRICE]

    def test_the_api_serializer(self):
        serializer = SellerProductInputSerializer(data=_as_json(_product_details(CategoryFactory())))
        assert not serializer.is_valid()
        assert serializer.errors["mrp"] == [MRP_BELOW_PRICE]

    def test_the_csv_import(self):
        category = CategoryFactory(slug="sarees")
        errors = import_errors(
            StoreFactory(), "handle,sku,title,category,price,mrp", f"a,A-1,T,{category.slug},10.00,9.99"
        )
        assert errors == [(2, "mrp: the MRP must be at least the price.")]

    def test_an_mrp_equal_to_the_price_passes_every_door(self):
        category = CategoryFactory(slug="sarees")
        details = _product_details(category, mrp="1000.00")
        assert ProductCreateForm(data=details).is_valid()
        assert SellerProductInputSerializer(data=_as_json(details)).is_valid()
        products_import_csv(
            store=StoreFactory(), file=_csv("handle,sku,title,category,price,mrp", "b,B-1,T,sarees,10,10")
        )
        assert ProductVariant.objects.get(sku="B-1").mrp == Decimal("10.00")


def _as_json(details: dict) -> dict:
    """The form's fields as an API client sends them: the stock a JSON number, not text."""
    return {**details, "stock": int(details["stock"])}


def _csv(*lines: str):
    from tests.catalog.test_imports import csv_bytes

    return csv_bytes(*lines)


class TestStockBounds:
    @pytest.mark.parametrize("stock", [-1, MAX_STOCK + 1])
    def test_the_service_refuses_an_opening_stock_out_of_bounds(self, stock):
        with pytest.raises(InvalidStock):
            product_create(
                store=StoreFactory(), title="T", category=CategoryFactory(), sku="A-1", price=Decimal("10"), stock=stock
            )
        assert not Product.objects.exists()

    @pytest.mark.parametrize(
        ("cell", "message"), [("-1", "cannot be negative."), (str(MAX_STOCK + 1), "at most 1,000,000.")]
    )
    def test_the_import_words_it_the_same_way(self, cell, message):
        CategoryFactory(slug="sarees")
        errors = import_errors(StoreFactory(), "handle,sku,title,category,price,stock", f"a,A-1,T,sarees,10,{cell}")
        assert errors == [(2, f"stock: {message}")]

    @pytest.mark.parametrize("stock", [str(MAX_STOCK + 1), "-1"])
    def test_the_form_and_serializer_refuse_it_too(self, stock):
        details = _product_details(CategoryFactory(), mrp="", stock=stock)
        assert "stock" in ProductCreateForm(data=details).errors
        serializer = SellerProductInputSerializer(data=details)
        assert not serializer.is_valid()
        assert "stock" in serializer.errors


ADDRESS = {
    "name": "Arjun Rao",
    "phone": "98220 12345",
    "line1": "7 FC Road",
    "line2": "",
    "city": "Pune",
    "state": "MH",
    "pincode": "411004",
}
# Digits a courier cannot read, though Python's `\d` and `isdigit()` take them.
FOREIGN_DIGITS = [
    ("phone", "9\u096e\u096d\u096c\u096b\u096a\u0969\u0968\u0967\u0966"),  # Devanagari
    ("phone", "98220 1234\u00b2"),  # a superscript two
    ("pincode", "4\u0967\u0967\u0966\u0966\u096a"),
    ("pincode", "411\uff10\uff104"),  # full-width zeros
]


class TestAddressDigits:
    @pytest.mark.parametrize(("field", "value"), FOREIGN_DIGITS)
    def test_the_form_refuses_them(self, field, value):
        assert field in AddressForm(data={**ADDRESS, field: value}).errors

    @pytest.mark.parametrize(("field", "value"), FOREIGN_DIGITS)
    def test_the_serializer_refuses_them(self, field, value):
        serializer = AddressSerializer(data={**ADDRESS, field: value})
        assert not serializer.is_valid()
        assert field in serializer.errors

    @pytest.mark.parametrize(("field", "value"), FOREIGN_DIGITS)
    def test_the_service_refuses_them(self, field, value):
        with pytest.raises(ValidationError) as exc:
            address_create(user=UserFactory(), **{**ADDRESS, field: value})
        assert field in exc.value.message_dict

    def test_the_ways_people_type_a_number_still_pass_everywhere(self):
        for phone in ["+91 98220-12345", "098220 12345", "9822012345"]:
            assert AddressForm(data={**ADDRESS, "phone": phone}).is_valid()
            assert AddressSerializer(data={**ADDRESS, "phone": phone}).is_valid()
            assert address_create(user=UserFactory(), **{**ADDRESS, "phone": phone}).phone == "9822012345"


# --- written once ------------------------------------------------------------------------------


def _source_files():
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            if "migrations" not in path.parts:
                yield path


def _where(pattern: str) -> set[str]:
    regex = re.compile(pattern)
    return {
        path.relative_to(ROOT).as_posix() for path in _source_files() if regex.search(path.read_text(encoding="utf-8"))
    }


def test_the_mrp_is_compared_with_the_price_in_one_function():
    # "MRP below the price" is the rule; "MRP above the price" (a discount to show) is not.
    assert _where(r"\bmrp\s*<(?!=)\s*(self\.)?price\b|\bprice\s*>(?!=)\s*(self\.)?mrp\b") == {"catalog/validators.py"}


@pytest.mark.parametrize(
    "module",
    [
        "catalog/models.py",
        "catalog/services/products.py",
        "catalog/forms.py",
        "catalog/serializers.py",
        "catalog/services/imports.py",
    ],
)
def test_every_product_door_calls_the_mrp_rule(module):
    assert "validate_mrp_not_below_price(" in (ROOT / module).read_text(encoding="utf-8")


def test_rows_are_locked_only_in_the_apps_locks_modules():
    assert {path.rsplit("/", 1)[1] for path in _where(r"select_for_update\(")} == {"locks.py"}


def test_every_locks_module_places_itself_in_the_global_order():
    for path in sorted(ROOT.glob("*/locks.py")):
        assert "docs/architecture.md" in path.read_text(encoding="utf-8"), path


def test_ids_in_text_are_parsed_in_one_place():
    assert _where(r"\.isdigit\(\)") == {"joycart/ids.py"}


def test_a_safe_next_is_decided_in_one_place():
    assert _where(r"url_has_allowed_host_and_scheme\(") == {"joycart/redirects.py"}


def test_mobile_and_pin_code_patterns_are_written_once():
    assert _where(r"\[6-9\]|\[1-9\]\[0-9\]\{5\}|\[1-9\]\\d\{5\}") == {"accounts/validators.py"}
