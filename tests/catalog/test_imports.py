"""The CSV import service: one row per variant grouped by handle, all or nothing, line-numbered errors,
constant queries, lossless round trip."""

import csv
import io
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog.errors import CsvImportFailed
from catalog.models import Product, ProductOption, ProductVariant
from catalog.services.imports import (
    CSV_COLUMNS,
    CSV_EXPORT_COLUMNS,
    MAX_ROWS,
    products_export_csv_rows,
    products_import_csv,
)
from catalog.services.summary import product_summary_refresh
from catalog.validators import MAX_PRICE, MAX_STOCK
from tests.factories import CategoryFactory, ProductFactory, StoreFactory, VariantFactory, only_variant, variant_update

pytestmark = pytest.mark.django_db

HEADER = ",".join(CSV_COLUMNS)
SIMPLE = "handle,sku,title,category,price"


def csv_bytes(*lines: str, bom: bool = False) -> io.BytesIO:
    text = "\n".join(lines) + "\n"
    return io.BytesIO(("\ufeff" if bom else "").encode() + text.encode())


def import_errors(store, *lines: str) -> list[tuple[int, str]]:
    with pytest.raises(CsvImportFailed) as failed:
        products_import_csv(store=store, file=csv_bytes(*lines))
    return failed.value.errors


def exported(store) -> io.BytesIO:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(products_export_csv_rows(store=store))
    return io.BytesIO(buffer.getvalue().encode())


def snapshot() -> tuple[list[tuple], ...]:
    """Every row an import could change, for 'nothing was written' assertions."""
    products = Product.objects.order_by("pk").values_list(
        "pk", "store_id", "slug", "title", "description", "category_id", "brand", "price", "price_max", "mrp",
        "stock", "is_active", "updated_at",
    )  # fmt: skip
    variants = ProductVariant.objects.order_by("pk").values_list(
        "pk", "product_id", "sku", "option1", "option2", "option3", "price", "mrp", "stock", "is_active", "position",
        "updated_at",
    )  # fmt: skip
    options = ProductOption.objects.order_by("pk").values_list("pk", "product_id", "position", "name", "values")
    return list(products), list(variants), list(options)


def with_options(product, *options: tuple[str, list[str]]) -> None:
    for position, (name, values) in enumerate(options, start=1):
        ProductOption.objects.create(product=product, position=position, name=name, values=values)


@pytest.fixture
def store():
    return StoreFactory(name="Kanchi Looms", slug="kanchi-looms")


@pytest.fixture
def sarees():
    return CategoryFactory(name="Sarees", slug="sarees")


@pytest.fixture
def audio():
    return CategoryFactory(name="Audio", slug="audio")


@pytest.fixture
def silk(store, sarees):
    return ProductFactory(
        store=store, category=sarees, slug="silk-saree", sku="SILK-1", title="Silk saree", price=Decimal("8999.00"),
        stock=7,
    )  # fmt: skip


@pytest.fixture
def kurta(store, sarees):
    """A product in two sizes and two colours, three of the four combinations made."""
    product = ProductFactory(
        store=store, category=sarees, slug="cotton-kurta", title="Cotton kurta", sku="KURTA-S-RED", stock=5
    )
    variant_update(only_variant(product), option1="S", option2="Red")
    VariantFactory(product=product, sku="KURTA-M-RED", option1="M", option2="Red", stock=3, position=1)
    VariantFactory(product=product, sku="KURTA-M-BLUE", option1="M", option2="Blue", stock=0, position=2)
    with_options(product, ("Size", ["S", "M"]), ("Colour", ["Red", "Blue"]))
    product_summary_refresh(product_ids=[product.pk])
    product.refresh_from_db()
    return product


class TestValidFiles:
    def test_creates_new_handles_and_updates_existing_ones_without_touching_their_stock(
        self, store, sarees, audio, silk
    ):
        summary = products_import_csv(
            store=store,
            file=csv_bytes(
                "handle,sku,title,category,price,mrp,stock,add_stock,description,brand,is_active",
                "silk-saree,silk-1,Kanjivaram silk saree,sarees,7999.00,9999.00,100,,Pure silk,Kanchi,true",
                'Wireless-Earbuds,BUDS-9,Wireless earbuds,audio,1499,,25,,"Bluetooth, with a case",boAt,false',
            ),
        )

        assert (summary.created, summary.updated, summary.unchanged) == (1, 1, 0)
        assert (summary.variants_created, summary.variants_updated, summary.stock_ignored) == (1, 1, 1)
        silk.refresh_from_db()
        variant = only_variant(silk)
        assert (silk.title, silk.description, silk.brand) == ("Kanjivaram silk saree", "Pure silk", "Kanchi")
        assert (silk.price, silk.mrp) == (Decimal("7999.00"), Decimal("9999.00"))  # the summary follows
        assert (variant.sku, variant.price, variant.mrp) == ("SILK-1", Decimal("7999.00"), Decimal("9999.00"))
        assert variant.stock == silk.stock == 7  # sales may have happened since the export: only add_stock moves it
        buds = Product.objects.get(slug="wireless-earbuds")  # a new handle is the new product's web address
        assert (buds.store, buds.category, buds.is_active, buds.description) == (
            store, audio, True, "Bluetooth, with a case"
        )  # fmt: skip
        assert list(buds.variants.values_list("sku", "price", "stock", "is_active")) == [
            ("BUDS-9", Decimal("1499.00"), 25, False)
        ]
        assert (buds.price, buds.price_max, buds.stock) == (Decimal("1499.00"), Decimal("1499.00"), 0)
        assert not buds.options.exists()

    def test_a_new_product_with_two_options_and_its_variants(self, store, sarees):
        summary = products_import_csv(
            store=store,
            file=csv_bytes(
                HEADER,
                "kurta,Kurta,Cotton kurta,sarees,Jaipur,Size,S,Colour,Red,,,K-S-R,499,599,4,,true",
                "kurta,,,,,,M,,Red,,,K-M-R,549,,0,,",
                "kurta,,,,,,S,,Blue,,,K-S-B,499,,6,,false",
            ),
        )

        assert (summary.created, summary.variants_created) == (1, 3)
        kurta = Product.objects.get(slug="kurta")
        assert (kurta.title, kurta.description, kurta.brand) == ("Kurta", "Cotton kurta", "Jaipur")
        assert list(kurta.options.values_list("position", "name", "values")) == [
            (1, "Size", ["S", "M"]),
            (2, "Colour", ["Red", "Blue"]),
        ]
        assert list(
            kurta.variants.values_list("sku", "option1", "option2", "option3", "price", "stock", "position")
        ) == [
            ("K-S-R", "S", "Red", "", Decimal("499.00"), 4, 0),
            ("K-M-R", "M", "Red", "", Decimal("549.00"), 0, 1),
            ("K-S-B", "S", "Blue", "", Decimal("499.00"), 6, 2),
        ]
        # The summary reads the active variants: K-S-B is inactive.
        assert (kurta.price, kurta.price_max, kurta.mrp, kurta.stock) == (
            Decimal("499.00"), Decimal("549.00"), Decimal("599.00"), 4
        )  # fmt: skip

    def test_changing_one_variants_stock_touches_nothing_else(self, store, sarees, silk, kurta):
        before = {variant.pk: variant for variant in ProductVariant.objects.all()}
        silk_before = Product.objects.values_list("updated_at", "stock", "price").get(pk=silk.pk)
        header, *rows = csv.reader(io.StringIO(exported(store).getvalue().decode()))
        sku = header.index("sku")
        rows = [[*row, "4" if row[sku] == "KURTA-M-RED" else ""] for row in rows]
        buffer = io.StringIO()
        csv.writer(buffer).writerows([[*header, "add_stock"], *rows])

        summary = products_import_csv(store=store, file=io.BytesIO(buffer.getvalue().encode()))

        assert (summary.created, summary.updated, summary.unchanged) == (0, 1, 1)
        assert summary.variants_updated == 1
        for variant in ProductVariant.objects.all():
            old = before[variant.pk]
            if variant.sku == "KURTA-M-RED":
                assert variant.stock == 7
                assert variant.updated_at > old.updated_at
            else:
                assert (variant.stock, variant.updated_at, variant.price) == (old.stock, old.updated_at, old.price)
        assert Product.objects.values_list("updated_at", "stock", "price").get(pk=silk.pk) == silk_before
        kurta_stock = Product.objects.values_list("stock", flat=True).get(pk=kurta.pk)
        assert kurta_stock == kurta.stock + 4  # the product's summary follows its variant

    def test_a_new_variant_joins_an_existing_product_after_its_variants(self, store, kurta):
        products_import_csv(
            store=store,
            file=csv_bytes(
                "handle,title,category,option1_name,option1_value,option2_name,option2_value,sku,price,stock",
                "cotton-kurta,Cotton kurta,sarees,Size,L,Colour,Green,KURTA-L-GREEN,649,2",
            ),
        )
        new = ProductVariant.objects.get(sku="KURTA-L-GREEN")
        assert (new.product, new.option1, new.option2, new.position, new.stock) == (kurta, "L", "Green", 3, 2)
        assert list(kurta.options.values_list("name", "values")) == [
            ("Size", ["S", "M", "L"]),
            ("Colour", ["Red", "Blue", "Green"]),
        ]
        assert kurta.variants.count() == 4  # the variants the file leaves out are kept

    def test_a_single_variant_product_gets_an_option_and_a_second_variant(self, store, silk):
        products_import_csv(
            store=store,
            file=csv_bytes(
                "handle,title,category,option1_name,option1_value,sku,price,stock",
                "silk-saree,Silk saree,sarees,Colour,Maroon,SILK-1,8999,",
                "silk-saree,,,,Green,SILK-2,9499,3",
            ),
        )
        assert list(silk.options.values_list("name", "values")) == [("Colour", ["Maroon", "Green"])]
        assert list(silk.variants.values_list("sku", "option1", "stock")) == [
            ("SILK-1", "Maroon", 7),
            ("SILK-2", "Green", 3),
        ]
        silk.refresh_from_db()
        assert (silk.price, silk.price_max, silk.stock) == (Decimal("8999.00"), Decimal("9499.00"), 10)

    def test_add_stock_is_a_delta_on_existing_variants(self, store, sarees, silk, kurta):
        summary = products_import_csv(
            store=store,
            file=csv_bytes(
                "handle,sku,title,category,price,add_stock",
                "silk-saree,SILK-1,Silk saree,sarees,8999.00,5",
                "cotton-kurta,KURTA-M-RED,Cotton kurta,sarees,499,-3",
            ),
        )
        assert (summary.created, summary.updated) == (0, 2)
        stocks = dict(ProductVariant.objects.values_list("sku", "stock"))
        assert stocks == {"SILK-1": 12, "KURTA-S-RED": 5, "KURTA-M-RED": 0, "KURTA-M-BLUE": 0}
        assert dict(Product.objects.values_list("slug", "stock")) == {"silk-saree": 12, "cotton-kurta": 5}

    def test_columns_left_out_keep_existing_values_and_empty_cells_clear_them(self, store, sarees, kurta):
        Product.objects.filter(pk=kurta.pk).update(brand="Jaipur", description="Old")
        variant_update(kurta.variants.get(sku="KURTA-S-RED"), mrp=Decimal("600.00"), is_active=False)
        products_import_csv(store=store, file=csv_bytes(SIMPLE, "cotton-kurta,KURTA-S-RED,New title,sarees,550"))
        kurta.refresh_from_db()
        variant = kurta.variants.get(sku="KURTA-S-RED")
        assert (kurta.title, kurta.brand, kurta.description) == ("New title", "Jaipur", "Old")
        assert (variant.price, variant.mrp, variant.is_active) == (Decimal("550.00"), Decimal("600.00"), False)
        assert (variant.option1, variant.option2) == ("S", "Red")  # no option columns: the options stay
        assert kurta.options.count() == 2

        products_import_csv(
            store=store,
            file=csv_bytes(SIMPLE + ",brand,mrp,is_active", "cotton-kurta,KURTA-S-RED,New title,sarees,550,,,"),
        )
        kurta.refresh_from_db()
        variant.refresh_from_db()
        assert (kurta.brand, variant.mrp, variant.is_active) == ("", None, False)  # blank is_active keeps it

    def test_product_columns_may_be_repeated_on_every_row_or_given_on_any_one(self, store, sarees):
        products_import_csv(
            store=store,
            file=csv_bytes(
                "handle,title,category,option1_name,option1_value,sku,price",
                "lamp,,,,Small,L-S,100",
                "lamp,Brass lamp,sarees,Size,Large,L-L,200",
                "lamp,Brass lamp,,Size,Medium,L-M,150",
            ),
        )
        lamp = Product.objects.get(slug="lamp")
        assert lamp.title == "Brass lamp"
        assert list(lamp.options.values_list("name", "values")) == [("Size", ["Small", "Large", "Medium"])]

    def test_bom_header_order_and_case_and_blank_lines_are_accepted(self, store, sarees):
        summary = products_import_csv(
            store=store, file=csv_bytes(" Price ,SKU,Title,Handle,Category", "", "250.5,A-1,Lamp,lamp,SAREES", bom=True)
        )
        assert summary.created == 1
        assert ProductVariant.objects.get(sku="A-1").price == Decimal("250.50")

    def test_a_thousand_rows_import_with_a_constant_number_of_queries(self, store, sarees, audio, silk, kurta):
        lines = ["handle,title,category,option1_name,option1_value,sku,price,mrp,stock,description,brand,add_stock"]
        lines += [
            f"bulk-{n // 4},Product {n // 4},{'sarees' if n // 4 % 2 else 'audio'},Size,{n % 4},BULK-{n:04d},{100 + n}.50,"
            f'{200 + n}.00,{n % 7},"Line one, {n // 4}\nline two",Brand {n // 4 % 10},'
            for n in range(1000)
        ]
        lines.append("silk-saree,Silk saree,sarees,,,SILK-1,8999.00,,7,,,2")
        lines.append("cotton-kurta,Cotton kurta,sarees,Size,M,KURTA-M-RED,499,,3,,,1")

        with CaptureQueriesContext(connection) as queries:
            summary = products_import_csv(store=store, file=csv_bytes(*lines))

        assert (summary.created, summary.updated, summary.unchanged) == (250, 2, 0)
        assert len(queries) <= 25, len(queries)
        assert ProductVariant.objects.filter(sku__startswith="BULK-").count() == 1000
        sample = Product.objects.get(slug="bulk-105")
        assert (sample.title, sample.category, sample.description) == ("Product 105", sarees, "Line one, 105\nline two")
        assert list(sample.variants.values_list("option1", "price", "stock")) == [
            ("0", Decimal("520.50"), 420 % 7),
            ("1", Decimal("521.50"), 421 % 7),
            ("2", Decimal("522.50"), 422 % 7),
            ("3", Decimal("523.50"), 423 % 7),
        ]
        assert (sample.price, sample.price_max) == (Decimal("520.50"), Decimal("523.50"))

    def test_export_then_import_changes_nothing(self, store, sarees, audio, kurta):
        ProductFactory(store=store, category=sarees, slug="festive", sku="S-1", title='Saree, "festive"',
                       mrp=Decimal("999.99"), description="Two lines\nof text, with ₹ and हिंदी", brand="")  # fmt: skip
        hidden = ProductFactory(store=store, category=audio, sku="a-2", is_active=False, stock=0, description="")
        variant_update(only_variant(hidden), is_active=False)
        ProductFactory(category=audio)  # another seller's: not exported
        before = snapshot()

        summary = products_import_csv(store=store, file=exported(store))

        assert (summary.created, summary.updated, summary.unchanged, summary.stock_ignored) == (0, 0, 3, 0)
        assert snapshot() == before

    def test_the_export_has_one_row_per_variant_and_the_products_columns_once(self, store, kurta):
        header, *rows = list(products_export_csv_rows(store=store))
        assert tuple(header) == CSV_EXPORT_COLUMNS
        cells = [dict(zip(header, row, strict=True)) for row in rows]
        assert [(c["handle"], c["title"], c["option1_name"], c["option1_value"], c["option2_value"], c["sku"])
                for c in cells] == [
            ("cotton-kurta", "Cotton kurta", "Size", "S", "Red", "KURTA-S-RED"),
            ("cotton-kurta", "", "", "M", "Red", "KURTA-M-RED"),
            ("cotton-kurta", "", "", "M", "Blue", "KURTA-M-BLUE"),
        ]  # fmt: skip
        assert [(c["category"], c["option2_name"], c["stock"], c["is_active"]) for c in cells] == [
            ("sarees", "Colour", "5", "true"),
            ("", "", "3", "true"),
            ("", "", "0", "true"),
        ]


class TestInvalidFilesWriteNothing:
    def test_every_bad_line_is_reported_with_its_line_number(self, store, sarees, silk):
        before = snapshot()
        errors = import_errors(
            store,
            "handle,sku,title,category,price,mrp,stock",
            "ok,OK-1,Fine,sarees,100,,1",
            "bad-1,BAD-1,Bad price,sarees,12.345,,1",
            "no-sku,,No SKU,sarees,100,,1",
            "bad-2,BAD-2,Unknown category,shoes,100,,1",
            "bad-3,BAD-3,,sarees,-5,50,x",
            '"multi","MULTI-1","Two\nlines",sarees,100,90,1',
            "two words,W-1,Title,sarees,100,,1",
        )
        assert errors == [
            (3, "price: at most 2 decimal places."),
            (4, "sku: required."),
            (5, "category: no category has the slug “shoes”."),
            (6, "price: “-5” is not an amount in rupees like 499.00."),
            (6, "stock: “x” is not a whole number."),
            (6, "title: required."),
            (7, "mrp: the MRP must be at least the price."),
            (8, "handle: enter a valid “slug” consisting of letters, numbers, underscores or hyphens."),
        ]
        assert snapshot() == before

    def test_a_later_row_that_contradicts_the_products_title_fails_everything(self, store, sarees, silk):
        before = snapshot()
        errors = import_errors(
            store,
            "handle,title,category,option1_name,option1_value,sku,price",
            "silk-saree,Silk saree,sarees,,,SILK-1,9999",
            "lamp,Brass lamp,sarees,Size,Small,L-S,100",
            "lamp,,,,Large,L-L,200",
            "lamp,Copper lamp,,Colour,Huge,L-H,300",
        )
        assert errors == [
            (5, "title: differs from line 3 of the same handle (“Brass lamp”); leave it blank or write the same."),
            (5, "option1_name: differs from line 3 of the same handle (“Size”); leave it blank or write the same."),
        ]
        assert snapshot() == before

    def test_a_combination_twice_in_a_product_is_refused(self, store, sarees, kurta):
        before = snapshot()
        errors = import_errors(
            store,
            "handle,title,category,option1_name,option1_value,option2_name,option2_value,sku,price",
            "lamp,Lamp,sarees,Size,S,Colour,Red,L-1,10",
            "lamp,,,,S,,Red,L-2,10",
            "cotton-kurta,Cotton kurta,sarees,Size,M,Colour,Blue,KURTA-NEW,10",
        )
        assert errors == [
            (3, "option values: S / Red already belong to line 2."),
            (4, "option values: M / Blue already belong to your variant KURTA-M-BLUE."),
        ]
        assert snapshot() == before

    def test_a_product_without_options_has_one_variant(self, store, sarees, silk):
        errors = import_errors(
            store, SIMPLE, "lamp,L-1,Lamp,sarees,10", "lamp,L-2,,,10", "silk-saree,SILK-2,Silk,sarees,1"
        )
        assert errors == [
            (3, "sku: a product without options has one variant, and line 2 is it already; "
                "name an option (option1_name) to sell several."),
            (4, "sku: a product without options has one variant, and your variant SILK-1 is it already; "
                "name an option (option1_name) to sell several."),
        ]  # fmt: skip

    def test_option_values_must_match_the_named_options(self, store, sarees):
        errors = import_errors(
            store,
            "handle,title,category,option1_name,option1_value,option2_name,option2_value,sku,price",
            "lamp,Lamp,sarees,Size,,,,L-1,10",
            "lamp,,,,M,,Red,L-2,10",
            "vase,Vase,sarees,,,Colour,Red,V-1,10",
            "pot,Pot,sarees,Size,S,size,Red,P-1,10",
        )
        assert errors == [
            (2, "option1_value: required: the product's option “Size” needs a value."),
            (3, "option2_value: the product has no option 2; name it or leave this blank."),
            (4, "option1_name: name the options in order, from option1_name."),
            (5, "option names: option names must differ: “size” is used twice."),
        ]
        assert not Product.objects.exists()

    def test_changing_the_options_needs_every_variant_in_the_file(self, store, kurta):
        before = snapshot()
        errors = import_errors(
            store,
            "handle,title,category,option1_name,option1_value,option2_name,option2_value,sku,price",
            "cotton-kurta,Cotton kurta,sarees,Size,S,,,KURTA-S-RED,499",
        )
        assert errors == [
            (2, "option names: your variants KURTA-M-RED, KURTA-M-BLUE are not in this file and would not fit "
                "these options; add them with their values."),
        ]  # fmt: skip
        assert snapshot() == before

    def test_a_sku_of_another_seller_is_refused_whatever_its_case_without_saying_whose(self, store, sarees):
        ProductFactory(sku="SHARED-1", slug="theirs")
        before = snapshot()
        errors = import_errors(store, SIMPLE, "new,NEW-1,New,sarees,10", "mine,shared-1,Mine,sarees,10")
        assert errors == [(3, "SKU taken by another seller: shared-1. SKUs are unique across JoyCart.")]
        assert snapshot() == before

    def test_a_handle_of_another_seller_is_refused(self, store, sarees):
        ProductFactory(slug="brass-lamp", sku="THEIRS-1")
        before = snapshot()
        errors = import_errors(store, SIMPLE, "Brass-Lamp,MINE-1,Lamp,sarees,10")
        assert errors == [(2, "handle: another product on JoyCart has this web address; choose another handle.")]
        assert snapshot() == before

    def test_a_variant_cannot_move_to_another_product(self, store, sarees, silk):
        before = snapshot()
        errors = import_errors(store, SIMPLE, "lamp,SILK-1,Lamp,sarees,10")
        assert errors == [
            (2, "sku: SILK-1 is a variant of your product “silk-saree”; use that handle "
                "(a variant cannot move to another product).")
        ]  # fmt: skip
        assert snapshot() == before

    def test_a_sku_twice_in_the_file_is_refused(self, store, sarees):
        errors = import_errors(
            store,
            "handle,title,category,option1_name,option1_value,sku,price",
            "a,A,sarees,Size,S,DUP-1,10",
            "x,B,sarees,,,X,10",
            "a,,,,M,dup-1,10",
        )
        assert errors == [(4, "sku: dup-1 already appears on line 2.")]
        assert Product.objects.count() == 0

    def test_add_stock_below_zero_fails_the_whole_import(self, store, sarees, silk, kurta):
        before = snapshot()
        errors = import_errors(
            store,
            "handle,sku,title,category,price,add_stock",
            "cotton-kurta,KURTA-S-RED,Cotton kurta,sarees,499,10",
            "silk-saree,SILK-1,Silk saree,sarees,8999,-8",
            "new,NEW-1,New,sarees,10,",
        )
        assert errors == [(3, "add_stock: only 7 in stock; cannot remove 8.")]
        assert snapshot() == before

    def test_add_stock_is_refused_for_a_new_sku(self, store, sarees):
        errors = import_errors(store, SIMPLE + ",add_stock", "new,NEW-1,New,sarees,10,5")
        assert errors == [(2, "add_stock: only for variants you already sell; use stock for a new SKU.")]

    def test_the_current_mrp_must_still_fit_a_new_price_when_the_mrp_column_is_left_out(self, store, sarees):
        ProductFactory(store=store, category=sarees, slug="m", sku="M-1", price=Decimal("100.00"), mrp=Decimal("120"))
        errors = import_errors(store, SIMPLE, "m,M-1,T,sarees,150")
        assert errors[0][0] == 2
        assert errors[0][1].startswith("mrp: the MRP must be at least the price (the current MRP is 120.00")

    @pytest.mark.parametrize(
        ("header", "problem"),
        [
            ("handle,sku,title,category,price,colour", "unknown column colour"),
            ("handle,sku,title,price,x", "missing column category"),
            ("sku,title,category,price,mrp", "missing column handle"),
            ("handle,sku,title,category,price,sku", "repeated column sku"),
            ("handle,sku,title,category,price,", "column 6 has no name"),
            ("handle,sku,title,category,price,option1_name", "missing column option1_value"),
        ],
    )
    def test_header_problems_are_line_1(self, store, sarees, header, problem):
        errors = import_errors(store, header, "a,A-1,T,sarees,10" + ",x" * (header.count(",") - 4))
        assert len(errors) == 1
        assert errors[0][0] == 1
        assert problem in errors[0][1]

    def test_a_line_with_the_wrong_number_of_values(self, store, sarees):
        assert import_errors(store, SIMPLE, "a,A-1,T,sarees") == [
            (2, "Expected 5 values, one per column, but found 4.")
        ]

    def test_nul_characters_in_cells_are_row_errors_before_any_lookup(self, store, sarees, silk):
        """On PostgreSQL a NUL in the SKU or category cell used to reach the lookup queries: a 500."""
        before = snapshot()
        errors = import_errors(
            store,
            SIMPLE + ",description",
            "ok,OK-1,Fine,sarees,100,",
            "silk-saree,SILK-1\x00,Silk saree,sarees,100,",
            "ok-2,OK-2,Lamp,sar\x00ees,100,Soft\x00",
            "lamp\x00,OK-3,Lamp,sarees,100,",
        )
        assert errors == [
            (3, "sku: Text cannot contain NUL characters."),
            (4, "category: Text cannot contain NUL characters."),
            (4, "description: Text cannot contain NUL characters."),
            (5, "handle: Text cannot contain NUL characters."),
        ]
        assert snapshot() == before

    def test_an_empty_file(self, store):
        errors = import_errors(store)
        assert errors[0][0] == 1
        assert "empty" in errors[0][1]

    def test_text_that_is_not_utf8_names_its_line(self, store, sarees):
        data = f"{SIMPLE}\na,A-1,Lamp,sarees,10\nb,A-2,Caf\xe9,sarees,10\n".encode("latin-1")
        with pytest.raises(CsvImportFailed) as failed:
            products_import_csv(store=store, file=io.BytesIO(data))
        assert failed.value.errors[0][0] == 3
        assert "UTF-8" in failed.value.errors[0][1]

    def test_more_rows_than_allowed(self, store, sarees):
        lines = [SIMPLE, *(f"r-{n},R-{n},T,sarees,10" for n in range(MAX_ROWS + 1))]
        errors = import_errors(store, *lines)
        assert errors == [(MAX_ROWS + 2, "The file has more than 5,000 rows. Split it into smaller files.")]
        assert Product.objects.count() == 0

    def test_a_file_over_2_mb(self, store, sarees):
        big = f"{SIMPLE},description\n" + f"a,A-1,T,sarees,10,{'x' * (2 * 1024 * 1024)}\n"
        with pytest.raises(CsvImportFailed) as failed:
            products_import_csv(store=store, file=io.BytesIO(big.encode()))
        assert failed.value.errors[0][0] == 0
        assert "2 MB" in failed.value.errors[0][1]


class TestTheImportObeysTheApisRules:
    """The import calls the same validators as the API and the pages: no rule is weaker here."""

    def test_a_sku_the_api_would_refuse_is_a_line_error(self, store, sarees):
        errors = import_errors(store, SIMPLE, "a,OK-1,Fine,sarees,10", "b,two words,T,sarees,10", "c,'=1+1,T,sarees,10")
        assert errors == [
            (3, "sku: use letters, digits and . _ / - only, starting with a letter or digit."),
            (4, "sku: use letters, digits and . _ / - only, starting with a letter or digit."),
        ]
        assert Product.objects.count() == 0

    def test_prices_above_the_cap_are_line_errors(self, store, sarees):
        above = MAX_PRICE + Decimal("0.01")
        errors = import_errors(
            store,
            SIMPLE + ",mrp",
            f"a,A-1,T,sarees,{above},",
            f"b,A-2,T,sarees,10,{above}",
            "c,A-3,T,sarees,9999999999.99,",
            f"d,A-4,T,sarees,{MAX_PRICE},{MAX_PRICE}",
        )
        assert errors == [
            (2, "price: the price can be at most ₹9,99,99,999.99."),
            (3, "mrp: the MRP can be at most ₹9,99,99,999.99."),
            (4, "price: the price can be at most ₹9,99,99,999.99."),
        ]
        assert Product.objects.count() == 0

    def test_exactly_the_cap_imports(self, store, sarees):
        products_import_csv(store=store, file=csv_bytes(SIMPLE + ",mrp", f"d,A-4,T,sarees,{MAX_PRICE},"))
        assert Product.objects.get().price == MAX_PRICE

    def test_numbers_too_long_for_python_are_line_errors_not_a_crash(self, store, sarees):
        errors = import_errors(
            store, SIMPLE + ",stock", f"a,A-1,T,sarees,{'9' * 40},", f"b,A-2,T,sarees,10,{'1' * 5000}"
        )
        assert errors == [
            (2, "price: the price can be at most ₹9,99,99,999.99."),
            (3, "stock: at most 1,000,000."),
        ]

    def test_add_stock_past_max_stock_is_a_line_error(self, store, sarees, silk):
        before = snapshot()
        errors = import_errors(store, SIMPLE + ",add_stock", f"silk-saree,SILK-1,T,sarees,8999,{MAX_STOCK - 6}")
        assert errors == [(2, "add_stock: stock cannot go above 1,000,000; it is 7 now.")]
        assert snapshot() == before

    def test_add_stock_that_a_change_during_the_import_pushes_past_max_stock_rolls_everything_back(
        self, store, sarees, silk
    ):
        variant = only_variant(silk)

        def restock_meanwhile(stage: str) -> None:
            if stage == "validate":  # checked, not yet written: the seller's other tab adds stock
                variant_update(variant, stock=MAX_STOCK - 1)

        with pytest.raises(CsvImportFailed) as failed:
            products_import_csv(
                store=store,
                file=csv_bytes(
                    SIMPLE + ",add_stock", "silk-saree,SILK-1,Renamed,sarees,8999,5", "new,NEW-1,N,sarees,1,"
                ),
                progress=restock_meanwhile,
            )
        assert failed.value.errors == [(2, "add_stock: stock cannot go above 1,000,000; it is 999999 now.")]
        silk.refresh_from_db()
        assert (silk.stock, silk.title) == (MAX_STOCK - 1, "Silk saree")
        assert not ProductVariant.objects.filter(sku="NEW-1").exists()
        assert not Product.objects.filter(slug="new").exists()

    def test_a_product_deleted_during_the_import_fails_it(self, store, sarees, silk):
        def delete_meanwhile(stage: str) -> None:
            if stage == "validate":
                Product.objects.filter(pk=silk.pk).delete()

        with pytest.raises(CsvImportFailed) as failed:
            products_import_csv(
                store=store,
                file=csv_bytes(SIMPLE, "new,NEW-1,N,sarees,1", "silk-saree,SILK-1,Renamed,sarees,8999"),
                progress=delete_meanwhile,
            )
        assert failed.value.errors == [(3, "This product was deleted while the file was importing.")]
        assert not Product.objects.exists()


FORMULA_TITLES = ['=HYPERLINK("http://evil.example","Click")', "-5 off", "@home", "+91 fabric", "'=already quoted"]


class TestFormulaCells:
    """A spreadsheet runs a cell starting with = + - @ tab or CR: the export writes such text as text."""

    def test_export_escapes_formula_cells_in_text_columns(self, store, sarees):
        product = ProductFactory(
            store=store, category=sarees, sku="F-1", title="=1+1", brand="@brand", description="-2"
        )
        with_options(product, ("+Size", ["-XL"]))
        variant_update(only_variant(product), option1="-XL")
        header, row = products_export_csv_rows(store=store)
        cells = dict(zip(header, row, strict=True))
        assert (cells["title"], cells["brand"], cells["description"]) == ("'=1+1", "'@brand", "'-2")
        assert (cells["option1_name"], cells["option1_value"]) == ("'+Size", "'-XL")
        assert (cells["sku"], cells["price"], cells["stock"]) == ("F-1", "499.00", "10")

    def test_export_then_import_of_formula_like_text_changes_nothing(self, store, sarees):
        for number, title in enumerate(FORMULA_TITLES):
            ProductFactory(
                store=store, category=sarees, sku=f"F-{number}", title=title, brand="-", description="=SUM(A1:A9)"
            )
        before = snapshot()
        file = exported(store)
        assert "'=HYPERLINK" in file.getvalue().decode()

        summary = products_import_csv(store=store, file=file)

        assert (summary.created, summary.updated, summary.unchanged) == (0, 0, len(FORMULA_TITLES))
        assert snapshot() == before
        assert sorted(Product.objects.values_list("title", flat=True)) == sorted(FORMULA_TITLES)

    def test_a_new_product_typed_with_the_escape_is_stored_without_it(self, store, sarees):
        products_import_csv(store=store, file=csv_bytes(SIMPLE + ",brand", "n,N-1,'-5 off,sarees,10,'@home"))
        assert Product.objects.values_list("title", "brand").get() == ("-5 off", "@home")


@pytest.mark.postgres
def test_imported_products_are_searchable(store, sarees, silk):
    """The search vector is refreshed in the same transaction as the bulk insert (PostgreSQL only)."""
    from django.contrib.postgres.search import SearchQuery

    products_import_csv(
        store=store,
        file=csv_bytes(
            SIMPLE + ",brand", "k,K-1,Kanjivaram silk saree,sarees,10,Kanchi", "silk-saree,SILK-1,Banarasi,sarees,10,"
        ),
    )
    assert Product.objects.filter(search_vector=SearchQuery("kanjivaram", config="english")).count() == 1
    assert Product.objects.filter(search_vector=SearchQuery("banarasi", config="english")).get() == silk


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_imports_and_sales_all_count_without_deadlock():
    """Files listing the same products in opposite orders, beside stock removals: every delta counts once,
    and each product's summary is the sum of its variants (products and variants locked in key order)."""
    from catalog.services.stock import variant_stock_adjust
    from tests.orders.helpers import run_concurrently

    store = StoreFactory()
    sarees = CategoryFactory(slug="sarees")
    lamp = ProductFactory(store=store, category=sarees, slug="lamp", sku="LAMP-1", stock=10)
    vase = ProductFactory(store=store, category=sarees, slug="vase", sku="VASE-1", stock=10)
    lines = [
        "handle,sku,title,category,price,add_stock",
        "lamp,LAMP-1,Lamp,sarees,499,3",
        "vase,VASE-1,Vase,sarees,499,2",
    ]

    def act(index: int) -> None:
        if index % 2:
            variant_stock_adjust(variant=ProductVariant.objects.get(sku="LAMP-1"), delta=-1)
            variant_stock_adjust(variant=ProductVariant.objects.get(sku="VASE-1"), delta=-1)
            return
        order = lines if index % 4 else [lines[0], *reversed(lines[1:])]
        products_import_csv(store=store, file=csv_bytes(*order))

    results = run_concurrently(act, 8)

    assert results == [None] * 8
    assert dict(ProductVariant.objects.values_list("sku", "stock")) == {
        "LAMP-1": 10 + 4 * 3 - 4,
        "VASE-1": 10 + 4 * 2 - 4,
    }
    assert dict(Product.objects.values_list("pk", "stock")) == {lamp.pk: 18, vase.pk: 14}


@pytest.mark.postgres
def test_a_variant_an_import_adds_to_an_existing_product_is_searchable(store, kurta):
    """The search document holds the variants' option values and SKUs: an import that only adds a variant
    refreshes it too."""
    from django.contrib.postgres.search import SearchQuery

    products_import_csv(
        store=store,
        file=csv_bytes(
            "handle,title,category,option1_name,option1_value,option2_name,option2_value,sku,price,stock",
            "cotton-kurta,Cotton kurta,sarees,Size,L,Colour,Saffron,KURTA-L-SAFFRON,649,2",
        ),
    )
    for word in ("saffron", "KURTA-L-SAFFRON"):
        assert Product.objects.filter(search_vector=SearchQuery(word, config="simple")).get() == kurta
