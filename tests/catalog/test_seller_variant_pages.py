"""The seller portal's options editor and variants grid: every write through the variant services,
refusals shown as form errors, another seller's variants 404, stock set only over what the page showed."""

from decimal import Decimal

import pytest
from django.urls import reverse

from catalog.models import Product, ProductVariant
from catalog.services.variants import product_options_set, variant_create
from tests.catalog.test_seller_pages import edit_url, flashes, login
from tests.factories import ProductFactory, StoreFactory, variant_update

pytestmark = pytest.mark.django_db


@pytest.fixture
def store():
    return StoreFactory()


@pytest.fixture
def seller_client(client, store):
    return login(client, store.user)


def kurta_of(store) -> Product:
    product = ProductFactory(store=store, title="Kurta", sku="KURTA-S", price=Decimal("500.00"), stock=4)
    product_options_set(product=product, options=[{"name": "Size", "values": ["S", "M", "L"]}])
    variant_create(product=product, sku="KURTA-M", price=Decimal("600.00"), stock=3, option_values=["M"])
    return product


@pytest.fixture
def kurta(store):
    return kurta_of(store)


def options_data(*rows: tuple[str, str]) -> dict:
    data = {"options-TOTAL_FORMS": "3", "options-INITIAL_FORMS": "0", "options-MIN_NUM_FORMS": "0",
            "options-MAX_NUM_FORMS": "3"}  # fmt: skip
    for index in range(3):
        name, values = rows[index] if index < len(rows) else ("", "")
        data[f"options-{index}-name"] = name
        data[f"options-{index}-values"] = values
    return data


def grid_data(product: Product, **changes_by_sku: dict) -> dict:
    """What the grid posts unchanged, with `changes_by_sku` applied to its rows."""
    variants = list(product.variants.order_by("position", "id"))
    data = {"variants-TOTAL_FORMS": str(len(variants)), "variants-INITIAL_FORMS": str(len(variants)),
            "variants-MIN_NUM_FORMS": "0", "variants-MAX_NUM_FORMS": "100"}  # fmt: skip
    for index, variant in enumerate(variants):
        row = {"id": variant.pk, "sku": variant.sku, "price": variant.price, "mrp": variant.mrp or "",
               "is_active": "on" if variant.is_active else None}  # fmt: skip
        row.update(changes_by_sku.get(variant.sku, {}))
        for name, value in row.items():
            if value is not None:
                data[f"variants-{index}-{name}"] = str(value)
    return data


def url(name: str, product: Product) -> str:
    return reverse(f"seller:{name}", kwargs={"product_id": product.pk})


def stock_url(variant: ProductVariant) -> str:
    return reverse("seller:variant_stock", kwargs={"product_id": variant.product_id, "variant_id": variant.pk})


class TestEditPage:
    def test_shows_the_options_and_one_row_per_variant(self, seller_client, kurta):
        response = seller_client.get(edit_url(kurta))
        html = response.content.decode()
        assert response.status_code == 200
        assert 'value="S, M, L"' in html
        assert html.count('data-testid="variant-row"') == 2
        assert 'data-testid="variant-add-form"' in html
        # Several variants: their SKUs and prices are edited in the grid, not the details form.
        assert "sku" not in response.context["form"].fields

    def test_a_product_without_options_keeps_its_single_sku_form_and_no_grid(self, seller_client, store):
        product = ProductFactory(store=store)
        response = seller_client.get(edit_url(product))
        assert "sku" in response.context["form"].fields
        assert 'data-testid="variants-form"' not in response.content.decode()


class TestOptionsEditor:
    def test_adding_an_option_gives_the_only_variant_its_first_value(self, seller_client, store):
        product = ProductFactory(store=store)
        response = seller_client.post(url("product_options", product), options_data(("Colour", "Red, Blue ,")))
        assert response.status_code == 302 and response.url.endswith("#options")
        assert [(o.name, o.values) for o in product.options.all()] == [("Colour", ["Red", "Blue"])]
        assert product.variants.get().option_values == ("Red",)

    def test_a_renamed_value_follows_on_the_variants(self, seller_client, kurta):
        seller_client.post(url("product_options", kurta), options_data(("Size", "Small, M, L")))
        assert sorted(v.option1 for v in kurta.variants.all()) == ["M", "Small"]

    def test_removing_a_value_in_use_is_a_form_error_that_changes_nothing(self, seller_client, kurta):
        response = seller_client.post(url("product_options", kurta), options_data(("Size", "S, L")))
        assert response.status_code == 200
        assert "“M” of “Size” is used by a variant" in response.context["options_formset"].non_form_errors()[0]
        assert kurta.options.get().values == ["S", "M", "L"]

    def test_a_name_without_values_is_a_field_error(self, seller_client, kurta):
        response = seller_client.post(url("product_options", kurta), options_data(("Size", "S, M, L"), ("Fit", "")))
        assert response.status_code == 200
        assert "at least one value" in response.context["options_formset"].forms[1].errors["values"][0]

    def test_the_csrf_token_is_required(self, seller_client, kurta):
        seller_client.handler.enforce_csrf_checks = True
        response = seller_client.post(url("product_options", kurta), options_data(("Size", "S")))
        assert response.status_code == 403
        assert kurta.options.get().values == ["S", "M", "L"]


class TestVariantsGrid:
    def test_saves_the_changed_rows(self, seller_client, kurta):
        data = grid_data(kurta, **{"KURTA-M": {"price": "650.00", "mrp": "800.00", "is_active": None}})
        response = seller_client.post(url("product_variants", kurta), data)
        assert response.status_code == 302 and response.url.endswith("#variants")
        medium = kurta.variants.get(sku="KURTA-M")
        assert (medium.price, medium.mrp, medium.is_active) == (Decimal("650.00"), Decimal("800.00"), False)
        kurta.refresh_from_db()
        assert (kurta.price_max, kurta.stock) == (Decimal("500.00"), 4)

    def test_a_refused_row_saves_no_row_and_shows_the_error_beside_it(self, seller_client, kurta):
        ProductFactory(sku="TAKEN-1")
        data = grid_data(kurta, **{"KURTA-S": {"price": "1.00"}, "KURTA-M": {"sku": "taken-1"}})
        response = seller_client.post(url("product_variants", kurta), data)
        assert response.status_code == 200
        row = next(r for r in response.context["variant_rows"] if r["variant"].sku == "KURTA-M")
        assert "unique across all sellers" in row["form"].errors["sku"][0]
        assert kurta.variants.get(sku="KURTA-S").price == Decimal("500.00")

    def test_bad_input_is_a_field_error_not_a_500(self, seller_client, kurta):
        data = grid_data(kurta, **{"KURTA-M": {"price": "lots", "mrp": "1.00"}})
        response = seller_client.post(url("product_variants", kurta), data)
        assert response.status_code == 200
        assert 'data-testid="variant-row"' in response.content.decode()

    def test_a_variant_of_another_product_in_the_grid_is_refused(self, seller_client, kurta, store):
        other = ProductFactory(store=store, sku="OTHER-1")
        data = grid_data(kurta)
        data["variants-0-id"] = str(other.variants.get().pk)
        data["variants-0-sku"] = "STOLEN-1"
        response = seller_client.post(url("product_variants", kurta), data)
        assert response.status_code == 200
        assert "changed meanwhile" in response.context["variants_formset"].non_form_errors()[0]
        assert other.variants.get().sku == "OTHER-1"


class TestAddVariant:
    def test_adds_a_variant(self, seller_client, kurta):
        data = {"option1": "L", "sku": "KURTA-L", "price": "450.00", "mrp": "", "stock": "6"}
        response = seller_client.post(url("product_variant_add", kurta), data)
        assert response.status_code == 302
        large = kurta.variants.get(sku="KURTA-L")
        assert (large.option_values, large.stock) == (("L",), 6)
        kurta.refresh_from_db()
        assert (kurta.price, kurta.stock) == (Decimal("450.00"), 13)

    def test_a_combination_that_exists_is_a_form_error(self, seller_client, kurta):
        data = {"option1": "M", "sku": "KURTA-M2", "price": "450.00", "stock": "6"}
        response = seller_client.post(url("product_variant_add", kurta), data)
        assert response.status_code == 200
        assert "already exists" in response.context["variant_form"].non_field_errors()[0]
        assert kurta.variants.count() == 2

    def test_a_value_not_listed_is_a_field_error(self, seller_client, kurta):
        data = {"option1": "XXL", "sku": "KURTA-X", "price": "450.00", "stock": "6"}
        response = seller_client.post(url("product_variant_add", kurta), data)
        assert response.status_code == 200 and "option1" in response.context["variant_form"].errors


class TestVariantStock:
    def test_set_with_the_value_the_page_showed(self, seller_client, kurta):
        medium = kurta.variants.get(sku="KURTA-M")
        prefix = f"stock-{medium.pk}"
        response = seller_client.post(
            stock_url(medium), {"mode": "set", f"{prefix}-value": "9", f"{prefix}-expected": "3"}
        )
        assert response.status_code == 302 and response.url.endswith("#variants")
        assert any("is now 9" in message for message in flashes(response))
        kurta.refresh_from_db()
        assert kurta.stock == 13

    def test_a_sale_in_between_is_not_lost(self, seller_client, kurta):
        medium = kurta.variants.get(sku="KURTA-M")
        variant_update(medium, stock=2)  # sold one while the page was open
        prefix = f"stock-{medium.pk}"
        response = seller_client.post(
            stock_url(medium), {"mode": "set", f"{prefix}-value": "9", f"{prefix}-expected": "3"}
        )
        assert any("Stock not changed" in message and "now 2" in message for message in flashes(response))
        medium.refresh_from_db()
        assert medium.stock == 2

    def test_bad_input_is_a_flash_error(self, seller_client, kurta):
        medium = kurta.variants.get(sku="KURTA-M")
        response = seller_client.post(stock_url(medium), {"mode": "set", f"stock-{medium.pk}-value": "-1"})
        assert response.status_code == 302 and flashes(response)
        medium.refresh_from_db()
        assert medium.stock == 3

    def test_another_sellers_variant_is_404(self, seller_client):
        theirs = kurta_of(StoreFactory()).variants.get(sku="KURTA-M")
        prefix = f"stock-{theirs.pk}"
        response = seller_client.post(
            stock_url(theirs), {"mode": "set", f"{prefix}-value": "99", f"{prefix}-expected": "3"}
        )
        assert response.status_code == 404
        theirs.refresh_from_db()
        assert theirs.stock == 3

    def test_the_product_stock_form_needs_a_variant_once_there_are_several(self, seller_client, kurta):
        stock = reverse("seller:product_stock", kwargs={"product_id": kurta.pk})
        response = seller_client.post(stock, {"mode": "adjust", "delta": "5"})
        assert any("Stock not changed" in message and "several variants" in message for message in flashes(response))
        kurta.refresh_from_db()
        assert kurta.stock == 7


def test_the_product_list_shows_the_price_range_total_stock_and_variant_count(seller_client, kurta):
    html = seller_client.get(reverse("seller:products")).content.decode()
    assert "₹500.00&ndash;₹600.00" in html
    assert 'data-testid="variant-count">2 variants<' in html
    assert '<span data-testid="total-stock">7</span>' in html
