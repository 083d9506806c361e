"""The CSV import service: all or nothing, line-numbered errors, constant queries, lossless round trip."""

import csv
import io
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog.errors import CsvImportFailed
from catalog.models import Product
from catalog.services.imports import MAX_ROWS, products_export_csv_rows, products_import_csv
from catalog.validators import MAX_PRICE, MAX_STOCK
from tests.factories import CategoryFactory, ProductFactory, StoreFactory

pytestmark = pytest.mark.django_db

HEADER = "sku,title,category,price,mrp,stock,add_stock,description,brand,is_active"


def csv_bytes(*lines: str, bom: bool = False) -> io.BytesIO:
    text = "\n".join(lines) + "\n"
    return io.BytesIO(("\ufeff" if bom else "").encode() + text.encode())


def import_errors(store, *lines: str) -> list[tuple[int, str]]:
    with pytest.raises(CsvImportFailed) as failed:
        products_import_csv(store=store, file=csv_bytes(*lines))
    return failed.value.errors


def snapshot() -> list[tuple]:
    """Everything an import could change, for 'nothing was written' assertions."""
    return list(
        Product.objects.order_by("pk").values_list(
            "pk", "store_id", "sku", "slug", "title", "description", "category_id", "brand", "price", "mrp",
            "stock", "is_active", "updated_at",
        )
    )  # fmt: skip


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
        store=store, category=sarees, sku="SILK-1", title="Silk saree", price=Decimal("8999.00"), stock=7
    )


class TestValidFiles:
    def test_creates_new_skus_and_updates_existing_ones_without_touching_their_stock(self, store, sarees, audio, silk):
        summary = products_import_csv(
            store=store,
            file=csv_bytes(
                HEADER,
                "silk-1,Kanjivaram silk saree,sarees,7999.00,9999.00,100,,Pure silk,Kanchi,true",
                'BUDS-9,Wireless earbuds,audio,1499,,25,,"Bluetooth, with a case",boAt,false',
            ),
        )

        assert (summary.created, summary.updated, summary.unchanged) == (1, 1, 0)
        assert summary.stock_ignored == 1
        silk.refresh_from_db()
        assert (silk.title, silk.price, silk.mrp) == ("Kanjivaram silk saree", Decimal("7999.00"), Decimal("9999.00"))
        assert (silk.description, silk.brand, silk.is_active) == ("Pure silk", "Kanchi", True)
        assert silk.sku == "SILK-1"  # the file's different case does not rename it
        assert silk.stock == 7  # sales may have happened since the export: stock only moves by add_stock
        buds = Product.objects.get(sku="BUDS-9")
        assert (buds.store, buds.category, buds.stock, buds.is_active) == (store, audio, 25, False)
        assert buds.description == "Bluetooth, with a case"
        assert buds.slug == "wireless-earbuds-buds-9"

    def test_add_stock_is_a_delta_on_existing_products(self, store, sarees, silk):
        cotton = ProductFactory(store=store, category=sarees, sku="COTTON-1", stock=4)
        summary = products_import_csv(
            store=store,
            file=csv_bytes(
                "sku,title,category,price,add_stock",
                f"SILK-1,{silk.title},sarees,8999.00,5",
                f"COTTON-1,{cotton.title},sarees,{cotton.price},-4",
            ),
        )
        assert (summary.created, summary.updated) == (0, 2)
        assert dict(Product.objects.values_list("sku", "stock")) == {"SILK-1": 12, "COTTON-1": 0}

    def test_columns_left_out_keep_existing_values_and_empty_cells_clear_them(self, store, sarees):
        product = ProductFactory(
            store=store, category=sarees, sku="S-1", brand="Kanchi", description="Old", mrp=Decimal("600.00"),
            is_active=False,
        )  # fmt: skip
        products_import_csv(store=store, file=csv_bytes("sku,title,category,price", "S-1,New title,sarees,550"))
        product.refresh_from_db()
        assert (product.title, product.price, product.brand, product.description) == ("New title", 550, "Kanchi", "Old")
        assert (product.mrp, product.is_active) == (Decimal("600.00"), False)

        products_import_csv(
            store=store, file=csv_bytes("sku,title,category,price,brand,mrp,is_active", "S-1,New title,sarees,550,,,")
        )
        product.refresh_from_db()
        assert (product.brand, product.mrp, product.is_active) == ("", None, False)  # blank is_active keeps it

    def test_bom_header_order_and_case_and_blank_lines_are_accepted(self, store, sarees):
        summary = products_import_csv(
            store=store, file=csv_bytes(" Price ,SKU,Title,Category", "", "250.5,A-1,Lamp,SAREES", bom=True)
        )
        assert summary.created == 1
        assert Product.objects.get(sku="A-1").price == Decimal("250.50")

    def test_slugs_never_clash_with_existing_ones_or_each_other(self, store, sarees):
        ProductFactory(slug="lamp-a-1")
        ProductFactory(slug="lamp-a-1-2", sku="OTHER")
        products_import_csv(
            store=store, file=csv_bytes("sku,title,category,price", "A-1,Lamp,sarees,10", "A--1,Lamp,sarees,10")
        )
        slugs = dict(Product.objects.filter(store=store).values_list("sku", "slug"))
        assert slugs == {"A-1": "lamp-a-1-3", "A--1": "lamp-a-1-4"}

    def test_a_thousand_rows_import_with_a_constant_number_of_queries(self, store, sarees, audio, silk):
        lines = ["sku,title,category,price,mrp,stock,description,brand"]
        lines += [
            f"BULK-{n:04d},Product {n},{'sarees' if n % 2 else 'audio'},{100 + n}.50,{200 + n}.00,{n % 7},"
            f'"Line one, {n}\nline two",Brand {n % 10}'
            for n in range(1000)
        ]
        lines.append("SILK-1,Silk saree,sarees,8999.00,,7,,")

        with CaptureQueriesContext(connection) as queries:
            summary = products_import_csv(store=store, file=csv_bytes(*lines))

        assert (summary.created, summary.updated, summary.unchanged) == (1000, 1, 0)
        assert len(queries) <= 20, len(queries)
        bulk = Product.objects.filter(sku__startswith="BULK-")
        assert bulk.count() == 1000
        assert len(set(bulk.values_list("slug", flat=True))) == 1000
        sample = Product.objects.get(sku="BULK-0421")
        assert (sample.title, sample.category, sample.price, sample.mrp, sample.stock) == (
            "Product 421",
            sarees,
            Decimal("521.50"),
            Decimal("621.00"),
            421 % 7,
        )
        assert sample.description == "Line one, 421\nline two"

    def test_export_then_import_changes_nothing(self, store, sarees, audio):
        ProductFactory(store=store, category=sarees, sku="S-1", title="Saree, \"festive\"", mrp=Decimal("999.99"),
                       description="Two lines\nof text, with ₹ and हिंदी", brand="")  # fmt: skip
        ProductFactory(store=store, category=audio, sku="a-2", is_active=False, stock=0, description="")
        ProductFactory(category=audio)  # another seller's: not exported
        before = snapshot()
        buffer = io.StringIO()
        csv.writer(buffer).writerows(products_export_csv_rows(store=store))

        summary = products_import_csv(store=store, file=io.BytesIO(buffer.getvalue().encode()))

        assert (summary.created, summary.updated, summary.unchanged, summary.stock_ignored) == (0, 0, 2, 0)
        assert snapshot() == before


class TestInvalidFilesWriteNothing:
    def test_every_bad_line_is_reported_with_its_line_number(self, store, sarees, silk):
        before = snapshot()
        errors = import_errors(
            store,
            "sku,title,category,price,mrp,stock",
            "OK-1,Fine,sarees,100,,1",
            "BAD-1,Bad price,sarees,12.345,,1",
            ",No SKU,sarees,100,,1",
            "BAD-2,Unknown category,shoes,100,,1",
            "BAD-3,,sarees,-5,50,x",
            '"MULTI-1","Two\nlines",sarees,100,90,1',
        )
        assert errors == [
            (3, "price: at most 2 decimal places."),
            (4, "sku: required."),
            (5, "category: no category has the slug “shoes”."),
            (6, "title: required."),
            (6, "price: “-5” is not an amount in rupees like 499.00."),
            (6, "stock: “x” is not a whole number."),
            (7, "mrp: the MRP must be at least the price."),
        ]
        assert snapshot() == before

    def test_a_sku_of_another_seller_is_refused_whatever_its_case(self, store, sarees):
        ProductFactory(sku="SHARED-1")
        before = snapshot()
        errors = import_errors(store, "sku,title,category,price", "NEW-1,New,sarees,10", "shared-1,Mine,sarees,10")
        assert len(errors) == 1
        assert errors[0][0] == 3
        assert "SKU taken by another seller" in errors[0][1]
        assert snapshot() == before

    def test_a_sku_twice_in_the_file_is_refused(self, store, sarees):
        errors = import_errors(
            store, "sku,title,category,price", "DUP-1,A,sarees,10", "X,B,sarees,10", "dup-1,C,sarees,10"
        )
        assert errors == [(4, "sku: dup-1 already appears on line 2.")]
        assert Product.objects.count() == 0

    def test_add_stock_below_zero_fails_the_whole_import(self, store, sarees, silk):
        other = ProductFactory(store=store, category=sarees, sku="OTHER-1", stock=3)
        before = snapshot()
        errors = import_errors(
            store,
            "sku,title,category,price,add_stock",
            f"OTHER-1,{other.title},sarees,499,10",
            "SILK-1,Silk saree,sarees,8999,-8",
            "NEW-1,New,sarees,10,",
        )
        assert errors == [(3, "add_stock: only 7 in stock; cannot remove 8.")]
        assert snapshot() == before

    def test_add_stock_is_refused_for_a_new_sku(self, store, sarees):
        errors = import_errors(store, "sku,title,category,price,add_stock", "NEW-1,New,sarees,10,5")
        assert errors == [(2, "add_stock: only for products you already sell; use stock for a new SKU.")]

    def test_the_current_mrp_must_still_fit_a_new_price_when_the_mrp_column_is_left_out(self, store, sarees):
        ProductFactory(store=store, category=sarees, sku="M-1", price=Decimal("100.00"), mrp=Decimal("120.00"))
        errors = import_errors(store, "sku,title,category,price", "M-1,T,sarees,150")
        assert errors[0][0] == 2
        assert errors[0][1].startswith("mrp: the MRP must be at least the price (the current MRP is 120.00")

    @pytest.mark.parametrize(
        ("header", "problem"),
        [
            ("sku,title,category,price,colour", "unknown column colour"),
            ("sku,title,price", "missing column category"),
            ("sku,title,category,price,sku", "repeated column sku"),
            ("sku,title,category,price,", "column 5 has no name"),
        ],
    )
    def test_header_problems_are_line_1(self, store, sarees, header, problem):
        errors = import_errors(store, header, "A-1,T,sarees,10" + ",x" * (header.count(",") - 3))
        assert len(errors) == 1
        assert errors[0][0] == 1
        assert problem in errors[0][1]

    def test_a_line_with_the_wrong_number_of_values(self, store, sarees):
        assert import_errors(store, "sku,title,category,price", "A-1,T,sarees") == [
            (2, "Expected 4 values, one per column, but found 3.")
        ]

    def test_nul_characters_in_cells_are_row_errors_before_any_lookup(self, store, sarees, silk):
        """On PostgreSQL a NUL in the SKU or category cell used to reach the lookup queries: a 500."""
        before = snapshot()
        errors = import_errors(
            store,
            "sku,title,category,price,description",
            "OK-1,Fine,sarees,100,",
            "SILK-1\x00,Silk saree,sarees,100,",
            "OK-2,Lamp,sar\x00ees,100,Soft\x00",
        )
        assert errors == [
            (3, "sku: Text cannot contain NUL characters."),
            (4, "category: Text cannot contain NUL characters."),
            (4, "description: Text cannot contain NUL characters."),
        ]
        assert snapshot() == before

    def test_an_empty_file(self, store):
        errors = import_errors(store)
        assert errors[0][0] == 1
        assert "empty" in errors[0][1]

    def test_text_that_is_not_utf8_names_its_line(self, store, sarees):
        data = "sku,title,category,price\nA-1,Lamp,sarees,10\nA-2,Caf\xe9,sarees,10\n".encode("latin-1")
        with pytest.raises(CsvImportFailed) as failed:
            products_import_csv(store=store, file=io.BytesIO(data))
        assert failed.value.errors[0][0] == 3
        assert "UTF-8" in failed.value.errors[0][1]

    def test_more_rows_than_allowed(self, store, sarees):
        lines = ["sku,title,category,price", *(f"R-{n},T,sarees,10" for n in range(MAX_ROWS + 1))]
        errors = import_errors(store, *lines)
        assert errors == [(MAX_ROWS + 2, "The file has more than 5,000 products. Split it into smaller files.")]
        assert Product.objects.count() == 0

    def test_a_file_over_2_mb(self, store, sarees):
        big = "sku,title,category,price,description\n" + f"A-1,T,sarees,10,{'x' * (2 * 1024 * 1024)}\n"
        with pytest.raises(CsvImportFailed) as failed:
            products_import_csv(store=store, file=io.BytesIO(big.encode()))
        assert failed.value.errors[0][0] == 0
        assert "2 MB" in failed.value.errors[0][1]


class TestTheImportObeysTheApisRules:
    """The import calls the same validators as the API and the pages: no rule is weaker here."""

    def test_a_sku_the_api_would_refuse_is_a_line_error(self, store, sarees):
        errors = import_errors(
            store, "sku,title,category,price", "OK-1,Fine,sarees,10", "two words,T,sarees,10", "'=1+1,T,sarees,10"
        )
        assert errors == [
            (3, "sku: use letters, digits and . _ / - only, starting with a letter or digit."),
            (4, "sku: use letters, digits and . _ / - only, starting with a letter or digit."),
        ]
        assert Product.objects.count() == 0

    def test_prices_above_the_cap_are_line_errors(self, store, sarees):
        above = MAX_PRICE + Decimal("0.01")
        errors = import_errors(
            store,
            "sku,title,category,price,mrp",
            f"A-1,T,sarees,{above},",
            f"A-2,T,sarees,10,{above}",
            "A-3,T,sarees,9999999999.99,",
            f"A-4,T,sarees,{MAX_PRICE},{MAX_PRICE}",
        )
        assert errors == [
            (2, "price: the price can be at most ₹9,99,99,999.99."),
            (3, "mrp: the MRP can be at most ₹9,99,99,999.99."),
            (4, "price: the price can be at most ₹9,99,99,999.99."),
        ]
        assert Product.objects.count() == 0

    def test_exactly_the_cap_imports(self, store, sarees):
        products_import_csv(store=store, file=csv_bytes("sku,title,category,price,mrp", f"A-4,T,sarees,{MAX_PRICE},"))
        assert Product.objects.get().price == MAX_PRICE

    def test_numbers_too_long_for_python_are_line_errors_not_a_crash(self, store, sarees):
        errors = import_errors(
            store, "sku,title,category,price,stock", f"A-1,T,sarees,{'9' * 40},", f"A-2,T,sarees,10,{'1' * 5000}"
        )
        assert errors == [
            (2, "price: the price can be at most ₹9,99,99,999.99."),
            (3, "stock: at most 1,000,000."),
        ]

    def test_add_stock_past_max_stock_is_a_line_error(self, store, sarees, silk):
        before = snapshot()
        errors = import_errors(store, "sku,title,category,price,add_stock", f"SILK-1,T,sarees,8999,{MAX_STOCK - 6}")
        assert errors == [(2, "add_stock: stock cannot go above 1,000,000; it is 7 now.")]
        assert snapshot() == before

    def test_add_stock_that_a_change_during_the_import_pushes_past_max_stock_rolls_everything_back(
        self, store, sarees, silk
    ):
        def restock_meanwhile(stage: str) -> None:
            if stage == "validate":  # checked, not yet written: the seller's other tab adds stock
                Product.objects.filter(pk=silk.pk).update(stock=MAX_STOCK - 1)

        with pytest.raises(CsvImportFailed) as failed:
            products_import_csv(
                store=store,
                file=csv_bytes(
                    "sku,title,category,price,add_stock", "SILK-1,Renamed,sarees,8999,5", "NEW-1,N,sarees,1,"
                ),
                progress=restock_meanwhile,
            )
        assert failed.value.errors == [(2, "add_stock: stock cannot go above 1,000,000; it is 999999 now.")]
        silk.refresh_from_db()
        assert (silk.stock, silk.title) == (MAX_STOCK - 1, "Silk saree")
        assert not Product.objects.filter(sku="NEW-1").exists()


FORMULA_TITLES = ['=HYPERLINK("http://evil.example","Click")', "-5 off", "@home", "+91 fabric", "'=already quoted"]


class TestFormulaCells:
    """A spreadsheet runs a cell starting with = + - @ tab or CR: the export writes such text as text."""

    def test_export_escapes_formula_cells_in_text_columns(self, store, sarees):
        ProductFactory(store=store, category=sarees, sku="F-1", title="=1+1", brand="@brand", description="-2")
        header, row = products_export_csv_rows(store=store)
        cells = dict(zip(header, row, strict=True))
        assert (cells["title"], cells["brand"], cells["description"]) == ("'=1+1", "'@brand", "'-2")
        assert (cells["sku"], cells["price"], cells["stock"]) == ("F-1", "499.00", "10")

    def test_export_then_import_of_formula_like_text_changes_nothing(self, store, sarees):
        for number, title in enumerate(FORMULA_TITLES):
            ProductFactory(
                store=store, category=sarees, sku=f"F-{number}", title=title, brand="-", description="=SUM(A1:A9)"
            )
        before = snapshot()
        buffer = io.StringIO()
        csv.writer(buffer).writerows(products_export_csv_rows(store=store))
        assert "'=HYPERLINK" in buffer.getvalue()

        summary = products_import_csv(store=store, file=io.BytesIO(buffer.getvalue().encode()))

        assert (summary.created, summary.updated, summary.unchanged) == (0, 0, len(FORMULA_TITLES))
        assert snapshot() == before
        assert sorted(Product.objects.values_list("title", flat=True)) == sorted(FORMULA_TITLES)

    def test_a_new_product_typed_with_the_escape_is_stored_without_it(self, store, sarees):
        products_import_csv(
            store=store, file=csv_bytes("sku,title,category,price,brand", "N-1,'-5 off,sarees,10,'@home")
        )
        assert Product.objects.values_list("title", "brand").get() == ("-5 off", "@home")


@pytest.mark.postgres
def test_imported_products_are_searchable(store, sarees):
    """The search vector is refreshed in the same transaction as the bulk insert (PostgreSQL only)."""
    from django.contrib.postgres.search import SearchQuery

    products_import_csv(
        store=store, file=csv_bytes("sku,title,category,price,brand", "K-1,Kanjivaram silk saree,sarees,10,Kanchi")
    )
    assert Product.objects.filter(search_vector=SearchQuery("kanjivaram", config="english")).count() == 1
