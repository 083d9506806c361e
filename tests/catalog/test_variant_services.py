"""The variant services: options stay consistent with the variants, every refusal changes nothing."""

import threading
from decimal import Decimal

import pytest
from django.db import connection

from catalog.errors import DuplicateSku, InvalidOptions, InvalidPrice, InvalidSku, InvalidStock, InvalidVariant
from catalog.models import MAX_OPTION_VALUE_LENGTH, Product, ProductImage, ProductVariant
from catalog.services.stock import variant_stock_adjust, variant_stock_set
from catalog.services.variants import product_options_set, variant_create, variant_deactivate, variant_update
from tests.factories import ProductFactory, only_variant

SIZES = [{"name": "Size", "values": ["S", "M", "L"]}]


def image_of(product: Product) -> ProductImage:
    return ProductImage.objects.create(product=product, image="products/a.jpg", thumbnail="products/a_t.jpg")


def options_of(product: Product) -> list[tuple[str, list[str]]]:
    return [(option.name, option.values) for option in product.options.all()]


def values_of(product: Product) -> list[tuple[str, ...]]:
    return [variant.option_values for variant in product.variants.order_by("pk")]


@pytest.fixture
def kurta(db):
    """A kurta in S and M, two variants."""
    product = ProductFactory(title="Kurta", sku="KURTA-S", price=Decimal("500.00"), stock=4)
    product_options_set(product=product, options=[{"name": "Size", "values": ["S", "M"]}])
    variant_create(product=product, sku="KURTA-M", price=Decimal("600.00"), stock=3, option_values=["M"])
    product.refresh_from_db()
    return product


@pytest.mark.django_db
class TestOptions:
    def test_a_product_with_one_variant_gains_options_and_the_variant_takes_the_first_values(self):
        product = ProductFactory()
        product_options_set(product=product, options=[*SIZES, {"name": "Colour", "values": ["Red", "Blue"]}])
        assert options_of(product) == [("Size", ["S", "M", "L"]), ("Colour", ["Red", "Blue"])]
        assert values_of(product) == [("S", "Red")]

    def test_names_and_values_are_stripped(self):
        product = ProductFactory()
        product_options_set(product=product, options=[{"name": "  Size ", "values": [" S", "M  "]}])
        assert options_of(product) == [("Size", ["S", "M"])]

    @pytest.mark.parametrize(
        ("options", "words"),
        [
            ([{"name": f"O{n}", "values": ["a"]} for n in range(4)], "at most 3 options"),
            ([{"name": "Size", "values": ["S"]}, {"name": "size", "values": ["M"]}], "listed twice"),
            ([{"name": "Size", "values": ["S", "s"]}], "“s” is listed twice"),
            ([{"name": "Size", "values": []}], "at least one value"),
            ([{"name": " ", "values": ["S"]}], "needs some text"),
            ([{"name": "Size", "values": ["S", ""]}], "needs some text"),
            ([{"name": "Size", "values": ["x" * (MAX_OPTION_VALUE_LENGTH + 1)]}], "too long"),
            (["Size"], "name and a list of values"),
        ],
    )
    def test_malformed_options_are_refused(self, options, words):
        product = ProductFactory()
        with pytest.raises(InvalidOptions, match=words):
            product_options_set(product=product, options=options)
        assert options_of(product) == []

    def test_values_can_be_added_and_reordered(self, kurta):
        product_options_set(product=kurta, options=[{"name": "Size", "values": ["XS", "M", "S", "XL"]}])
        assert options_of(kurta) == [("Size", ["XS", "M", "S", "XL"])]
        assert values_of(kurta) == [("S",), ("M",)]

    def test_a_value_renamed_in_its_place_renames_it_on_the_variants(self, kurta):
        product_options_set(product=kurta, options=[{"name": "Length", "values": ["Small", "m"]}])
        assert options_of(kurta) == [("Length", ["Small", "m"])]
        assert values_of(kurta) == [("Small",), ("m",)]

    def test_a_value_in_use_cannot_be_removed_even_by_an_inactive_variant(self, kurta):
        variant_deactivate(variant=kurta.variants.get(sku="KURTA-M"))
        with pytest.raises(InvalidOptions, match="“M” of “Size” is used by a variant"):
            product_options_set(product=kurta, options=[{"name": "Size", "values": ["S"]}])
        assert options_of(kurta) == [("Size", ["S", "M"])]

    def test_an_unused_value_can_be_removed(self, kurta):
        product_options_set(product=kurta, options=[{"name": "Size", "values": ["S", "M", "L"]}])
        product_options_set(product=kurta, options=[{"name": "Size", "values": ["S", "M"]}])
        assert options_of(kurta) == [("Size", ["S", "M"])]

    def test_options_cannot_be_added_or_removed_while_several_variants_exist(self, kurta):
        with pytest.raises(InvalidOptions, match="cannot add an option"):
            product_options_set(product=kurta, options=[*SIZES, {"name": "Colour", "values": ["Red"]}])
        with pytest.raises(InvalidOptions, match="cannot remove an option"):
            product_options_set(product=kurta, options=[])
        assert options_of(kurta) == [("Size", ["S", "M"])]
        assert values_of(kurta) == [("S",), ("M",)]

    def test_the_only_variant_loses_the_values_of_removed_options(self):
        product = ProductFactory()
        product_options_set(product=product, options=SIZES)
        product_options_set(product=product, options=[])
        assert options_of(product) == [] and values_of(product) == [()]


@pytest.mark.django_db
class TestVariantCreate:
    def test_adds_a_variant_and_refreshes_the_summary(self, kurta):
        product_options_set(product=kurta, options=SIZES)
        variant_create(product=kurta, sku="KURTA-L", price=Decimal("450.00"), mrp=Decimal("900.00"), stock=2,
                       option_values=["l"])  # fmt: skip
        kurta.refresh_from_db()
        assert values_of(kurta) == [("S",), ("M",), ("L",)]
        assert (kurta.price, kurta.price_max, kurta.mrp, kurta.stock) == (
            Decimal("450.00"),
            Decimal("600.00"),
            Decimal("900.00"),
            9,
        )

    def test_the_value_is_stored_as_the_option_spells_it(self, kurta):
        product_options_set(product=kurta, options=[{"name": "Size", "values": ["S", "M", "XL"]}])
        variant = variant_create(product=kurta, sku="KURTA-XL", price=Decimal("1.00"), option_values=[" xl "])
        assert variant.option_values == ("XL",)

    @pytest.mark.parametrize(
        ("option_values", "words"),
        [(["XXL"], "Choose one of S, M"), ([], "one value for each option"), (["S", "M"], "one value for each")],
    )
    def test_values_outside_the_options_are_refused(self, kurta, option_values, words):
        with pytest.raises(InvalidVariant, match=words):
            variant_create(product=kurta, sku="NEW-1", price=Decimal("1.00"), option_values=option_values)
        assert kurta.variants.count() == 2

    def test_a_combination_that_exists_is_refused(self, kurta):
        with pytest.raises(InvalidVariant, match="This combination already exists"):
            variant_create(product=kurta, sku="NEW-1", price=Decimal("1.00"), option_values=["m"])

    def test_a_product_without_options_has_only_one_variant(self):
        product = ProductFactory()
        with pytest.raises(InvalidVariant, match="This combination already exists"):
            variant_create(product=product, sku="NEW-1", price=Decimal("1.00"), option_values=[])

    def test_the_sku_is_unique_across_all_sellers_in_any_case(self, kurta):
        ProductFactory(sku="THEIRS-1")
        product_options_set(product=kurta, options=SIZES)
        with pytest.raises(DuplicateSku):
            variant_create(product=kurta, sku="theirs-1", price=Decimal("1.00"), option_values=["L"])

    @pytest.mark.parametrize(
        ("fields", "error"),
        [
            ({"sku": "=cmd"}, InvalidSku),
            ({"price": Decimal("0")}, InvalidPrice),
            ({"price": Decimal("10.00"), "mrp": Decimal("9.00")}, InvalidPrice),
            ({"stock": -1}, InvalidStock),
        ],
    )
    def test_the_product_rules_apply(self, kurta, fields, error):
        product_options_set(product=kurta, options=SIZES)
        with pytest.raises(error):
            variant_create(product=kurta, **{"sku": "K-L", "price": Decimal("1.00"), **fields}, option_values=["L"])
        assert kurta.variants.count() == 2

    def test_at_most_max_variants(self, kurta, monkeypatch):
        monkeypatch.setattr("catalog.services.variants.MAX_VARIANTS", 2)
        product_options_set(product=kurta, options=SIZES)
        with pytest.raises(InvalidVariant, match="at most 2 variants"):
            variant_create(product=kurta, sku="K-L", price=Decimal("1.00"), option_values=["L"])

    def test_an_image_of_another_product_is_refused(self, kurta):
        product_options_set(product=kurta, options=SIZES)
        with pytest.raises(InvalidVariant, match="this product's own images"):
            variant_create(product=kurta, sku="K-L", price=Decimal("1.00"), option_values=["L"],
                           image=image_of(ProductFactory()))  # fmt: skip


@pytest.mark.django_db
class TestVariantUpdate:
    def test_price_and_active_flag_move_the_summary(self, kurta):
        medium = kurta.variants.get(sku="KURTA-M")
        variant_update(variant=medium, price=Decimal("300.00"))
        kurta.refresh_from_db()
        assert (kurta.price, kurta.price_max) == (Decimal("300.00"), Decimal("500.00"))
        variant_deactivate(variant=medium)
        kurta.refresh_from_db()
        assert medium.is_active is False
        assert (kurta.price, kurta.price_max, kurta.stock) == (Decimal("500.00"), Decimal("500.00"), 4)

    def test_option_values_move_to_a_free_combination_only(self, kurta):
        product_options_set(product=kurta, options=SIZES)
        medium = kurta.variants.get(sku="KURTA-M")
        with pytest.raises(InvalidVariant, match="already exists"):
            variant_update(variant=medium, option_values=["S"])
        assert variant_update(variant=medium, option_values=["L"]).option_values == ("L",)

    def test_a_sku_taken_by_another_variant_is_refused_and_nothing_changes(self, kurta):
        medium = kurta.variants.get(sku="KURTA-M")
        with pytest.raises(DuplicateSku):
            variant_update(variant=medium, sku="kurta-s", price=Decimal("1.00"))
        medium.refresh_from_db()
        assert (medium.sku, medium.price) == ("KURTA-M", Decimal("600.00"))

    def test_stock_is_not_editable_here(self, kurta):
        with pytest.raises(ValueError, match="stock"):
            variant_update(variant=only_variant_of(kurta), stock=5)

    def test_an_image_of_the_same_product_is_accepted(self, kurta):
        image = image_of(kurta)
        assert variant_update(variant=only_variant_of(kurta), image=image).image == image


def only_variant_of(product: Product) -> ProductVariant:
    return product.variants.order_by("pk").first()


@pytest.mark.django_db
def test_the_factory_helper_still_finds_a_single_variant():
    product = ProductFactory(sku="ONE-1")
    assert only_variant(product).sku == "ONE-1"


@pytest.mark.postgres
@pytest.mark.django_db
def test_search_finds_a_product_by_an_option_value(kurta):
    from django.contrib.postgres.search import SearchQuery

    product_options_set(product=kurta, options=[{"name": "Size", "values": ["S", "M", "XL"]}])
    assert not Product.objects.filter(search_vector=SearchQuery("XL", config="english")).exists()
    variant_create(product=kurta, sku="KURTA-XL", price=Decimal("1.00"), option_values=["XL"])
    assert Product.objects.filter(search_vector=SearchQuery("XL", config="english")).get() == kurta
    variant_deactivate(variant=kurta.variants.get(sku="KURTA-XL"))
    assert not Product.objects.filter(search_vector=SearchQuery("XL", config="english")).exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_plus_ones_on_one_variant_while_another_changes_add_exactly_twenty():
    product = ProductFactory(sku="TEE-S", stock=10)
    product_options_set(product=product, options=SIZES)
    medium = variant_create(product=product, sku="TEE-M", price=Decimal("499.00"), stock=5, option_values=["M"])
    small = ProductVariant.objects.get(sku="TEE-S")
    barrier = threading.Barrier(22)
    failures: list[BaseException] = []

    def run(change) -> None:
        try:
            barrier.wait(timeout=10)
            change()
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            failures.append(exc)
        finally:
            connection.close()

    changes = [lambda: variant_stock_adjust(variant=ProductVariant.objects.get(pk=small.pk), delta=1)] * 20
    changes.append(lambda: variant_stock_set(variant=ProductVariant.objects.get(pk=medium.pk), value=50, expected=5))
    changes.append(lambda: variant_update(variant=ProductVariant.objects.get(pk=medium.pk), price=Decimal("450.00")))
    threads = [threading.Thread(target=run, args=(change,)) for change in changes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert failures == []
    small.refresh_from_db()
    medium.refresh_from_db()
    product.refresh_from_db()
    assert (small.stock, medium.stock, medium.price) == (30, 50, Decimal("450.00"))
    assert (product.stock, product.price) == (80, Decimal("450.00"))
