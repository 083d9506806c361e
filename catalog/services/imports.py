"""Bulk product import from a seller's CSV file: every row or none.

One row per variant. Rows sharing a `handle` (the product's web address, its slug) are one
product: a new handle creates a product, a handle of one of the seller's products updates it.
The product's own columns (title, description, category, brand, option names) may be left blank
on all but one of its rows, usually the first; rows that fill them in must agree. The SKU names
the variant: one the seller already sells updates that variant, a new one adds a variant. Variants
of the product that the file leaves out are kept as they are.

The whole file is checked in memory with a fixed number of queries, then written in one
transaction with bulk statements, so a 5,000-row file costs about as many queries as a 5-row one.
That is why the import writes product, option and variant rows itself rather than calling the
one-product services; it checks them with the same validators (`catalog.validators`).

Stock from the file is only a starting value for new SKUs. An existing variant's stock may have
sold since the file was exported, so it changes only by an `add_stock` delta.
"""

import csv
import io
import re
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_slug
from django.db import IntegrityError, transaction
from django.db.models.functions import Lower
from django.utils import timezone

from accounts.models import Store
from catalog.cache import bump_after_commit
from catalog.errors import CsvImportFailed
from catalog.locks import products_lock, variants_lock
from catalog.models import MAX_OPTIONS, MAX_VARIANTS, Category, Product, ProductOption, ProductVariant
from catalog.selectors import seller_products_export
from catalog.services.products import search_vector_refresh
from catalog.services.stock import stock_delta_apply, stock_delta_refusal
from catalog.services.summary import product_summary_refresh
from catalog.validators import (
    MAX_STOCK,
    validate_mrp,
    validate_mrp_not_below_price,
    validate_option_names,
    validate_price,
    validate_sku,
    validate_stock,
    validate_stock_delta,
)
from joycart.money import PAISA
from joycart.spreadsheet import csv_cell, csv_cell_unescape
from joycart.text import NUL, NUL_MESSAGE

MAX_ROWS = 5_000
MAX_BYTES = 2 * 1024 * 1024
FILE_LINE = 0  # an error about the file as a whole, not one of its lines
IMPORT_STAGES = ("read", "validate", "write")

POSITIONS = tuple(range(1, MAX_OPTIONS + 1))
NAME_COLUMNS = tuple(f"option{n}_name" for n in POSITIONS)
VALUE_COLUMNS = tuple(f"option{n}_value" for n in POSITIONS)
VALUE_FIELDS = tuple(f"option{n}" for n in POSITIONS)
_OPTION_COLUMNS = tuple(column for pair in zip(NAME_COLUMNS, VALUE_COLUMNS, strict=True) for column in pair)
CSV_EXPORT_COLUMNS = (
    "handle", "title", "description", "category", "brand", *_OPTION_COLUMNS, "sku", "price", "mrp", "stock", "is_active",
)  # fmt: skip
CSV_COLUMNS = (*CSV_EXPORT_COLUMNS[:-1], "add_stock", "is_active")
REQUIRED_COLUMNS = ("handle", "title", "category", "sku", "price")
# The product's columns: one value per handle, on any of its rows.
PRODUCT_TEXT_COLUMNS = ("title", "description", "brand")
TEXT_LIMITS = {
    "handle": Product._meta.get_field("slug").max_length,
    "sku": ProductVariant._meta.get_field("sku").max_length,
    **{name: Product._meta.get_field(name).max_length for name in PRODUCT_TEXT_COLUMNS},
    **dict.fromkeys(NAME_COLUMNS, ProductOption._meta.get_field("name").max_length),
    **{
        column: ProductVariant._meta.get_field(name).max_length
        for column, name in zip(VALUE_COLUMNS, VALUE_FIELDS, strict=True)
    },
}
TRUE_WORDS = {"true", "yes", "y", "1"}
FALSE_WORDS = {"false", "no", "n", "0"}

_AMOUNT = re.compile(r"\d+(\.\d+)?")
_INTEGER = re.compile(r"[+-]?\d+")


@dataclass(frozen=True)
class ImportSummary:
    """What the import did, counted in products (handles), and in variants where it says so."""

    created: int
    updated: int
    unchanged: int = 0
    # Existing variants whose `stock` cell differed from their stock: that cell is ignored.
    stock_ignored: int = 0
    variants_created: int = 0
    variants_updated: int = 0


@dataclass
class _Row:
    """One line of the file, as checked on its own."""

    line: int
    handle_key: str | None
    sku: str | None
    # The product's columns this line fills in (category as a Category), and the columns whose
    # cell is not blank even if it was refused, so "required" is not said twice.
    product_cells: dict[str, Any]
    given: set[str]
    # Only the variant fields the file sets: a column left out keeps an existing variant's value.
    variant: dict[str, Any]
    stock: int | None
    add_stock: int
    existing: ProductVariant | None = None
    values: tuple[str, ...] = ()


@dataclass
class _Product:
    """One handle: its rows, the product they update (None for a new one) and what to write."""

    handle: str
    rows: list[_Row]
    product: Product | None = None
    details: dict[str, Any] = field(default_factory=dict)
    option_names: list[str] = field(default_factory=list)
    # (position, name, values) of every option, when they differ from the stored ones.
    new_options: list[tuple[int, str, list[str]]] | None = None
    # Where the file's new variants go: after the product's variants, in the file's order.
    next_position: int = 0


@dataclass
class _Lookups:
    """Everything the file refers to, read with one query each."""

    products: dict[str, Product]
    skus: dict[str, dict[str, Any]]
    variants: dict[int, list[ProductVariant]]
    options: dict[int, dict[int, ProductOption]]


class _BadCell(ValueError):
    pass


def products_import_csv(*, store: Store, file, progress: Callable[[str], None] | None = None) -> ImportSummary:
    """Create and update `store`'s products and variants from a CSV file, or raise `CsvImportFailed`
    and write nothing.

    `progress`, if given, is called with the name of each of `IMPORT_STAGES` as it is done.
    """
    report = progress or (lambda stage: None)
    text = _read_text(file)
    report("read")
    columns, records = _parse(text)
    products = _validate(store=store, columns=columns, records=records)
    report("validate")
    summary = _write(store=store, products=products)
    report("write")
    return summary


# --- reading and parsing --------------------------------------------------------------


def _too_big() -> CsvImportFailed:
    return CsvImportFailed([(FILE_LINE, f"The file is larger than {MAX_BYTES // (1024 * 1024)} MB. Split it.")])


def _read_text(file) -> str:
    if getattr(file, "size", None) is not None and file.size > MAX_BYTES:
        raise _too_big()
    data = file.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise _too_big()
    if isinstance(data, str):
        return data.removeprefix("\ufeff")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        message = "This line is not UTF-8 text. Save the file as “CSV UTF-8” and upload it again."
        raise CsvImportFailed([(line, message)]) from exc


def _parse(text: str) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """The header's column names and each non-blank record as (line, {column: cell}).

    Line numbers are records as a spreadsheet numbers its rows (the header is line 1), so a
    description with line breaks inside its quotes still counts as one line.
    """
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise CsvImportFailed([(1, f"The header is not valid CSV ({exc}).")]) from exc
    if header is None or not any(cell.strip() for cell in header):
        raise CsvImportFailed(
            [(1, f"The file is empty. Its first line must name the columns: {', '.join(CSV_COLUMNS)}.")]
        )
    columns = [cell.strip().lower() for cell in header]
    _check_header(columns)

    errors: list[tuple[int, str]] = []
    records: list[tuple[int, dict[str, str]]] = []
    line = 1
    try:
        for cells in reader:
            line += 1
            if not any(cell.strip() for cell in cells):
                continue
            if len(records) == MAX_ROWS:
                errors.append((line, f"The file has more than {MAX_ROWS:,} rows. Split it into smaller files."))
                break
            if len(cells) != len(columns):
                errors.append((line, f"Expected {len(columns)} values, one per column, but found {len(cells)}."))
                continue
            # Refused before any cell is looked up (categories, SKUs): PostgreSQL cannot take a NUL.
            with_nul = [column for column, cell in zip(columns, cells, strict=True) if NUL in cell]
            if with_nul:
                errors.extend((line, f"{column}: {NUL_MESSAGE}") for column in with_nul)
                continue
            # The export escapes formula-like text (`'=...`); the cell means what was written.
            records.append((line, dict(zip(columns, map(csv_cell_unescape, cells), strict=True))))
    except csv.Error as exc:
        errors.append((line + 1, f"This line is not valid CSV ({exc})."))
    if errors:
        raise CsvImportFailed(errors)
    return columns, records


def _check_header(columns: list[str]) -> None:
    problems = []
    unnamed = [str(index) for index, name in enumerate(columns, start=1) if not name]
    if unnamed:
        problems.append(f"column {', '.join(unnamed)} has no name")
    unknown = [name for name in columns if name and name not in CSV_COLUMNS]
    if unknown:
        problems.append(f"unknown column {', '.join(unknown)}")
    repeated = sorted({name for name in columns if name and columns.count(name) > 1})
    if repeated:
        problems.append(f"repeated column {', '.join(repeated)}")
    missing = [name for name in REQUIRED_COLUMNS if name not in columns]
    # An option's name and its values come together: one without the other cannot be read.
    for name, value in zip(NAME_COLUMNS, VALUE_COLUMNS, strict=True):
        if (name in columns) != (value in columns):
            missing.append(value if name in columns else name)
    if missing:
        problems.append(f"missing column {', '.join(missing)}")
    if problems:
        allowed = ", ".join(CSV_COLUMNS)
        raise CsvImportFailed([(1, f"Header: {'; '.join(problems)}. The allowed columns are: {allowed}.")])


# --- checking cells ------------------------------------------------------------------------


def _shown(raw: str) -> str:
    return raw if len(raw) <= 30 else f"{raw[:30]}…"


def _text(raw: str, column: str, *, required: bool = False) -> str:
    value = raw.strip()
    if required and not value:
        raise _BadCell(f"{column}: required.")
    if len(value) > TEXT_LIMITS[column]:
        raise _BadCell(f"{column}: at most {TEXT_LIMITS[column]:,} characters (this has {len(value):,}).")
    return value


def _problem(column: str, message: str) -> str:
    """A shared rule's sentence as one item of this line's list: "price: the price must be above ₹0." """
    return f"{column}: {message[:1].lower()}{message[1:]}"


def _obeying(validate: Callable[..., None], column: str, *args, **kwargs) -> None:
    """Run one of the rules every door shares (`catalog.validators`), as this column's error."""
    try:
        validate(*args, **kwargs)
    except ValidationError as exc:
        raise _BadCell(_problem(column, exc.messages[0])) from exc


def _amount(raw: str, column: str, validate: Callable[[Decimal], None], *, required: bool = False) -> Decimal | None:
    value = raw.strip()
    if not value:
        if required:
            raise _BadCell(f"{column}: required.")
        return None
    if not _AMOUNT.fullmatch(value):
        raise _BadCell(f"{column}: “{_shown(value)}” is not an amount in rupees like 499.00.")
    amount = Decimal(value)
    # The bounds first: rounding a number of thirty digits to paise would overflow Decimal's context.
    _obeying(validate, column, amount)
    if amount != amount.quantize(PAISA):
        raise _BadCell(f"{column}: at most 2 decimal places.")
    return amount.quantize(PAISA)


def _integer(raw: str, column: str, validate: Callable[[int], None]) -> int | None:
    value = raw.strip()
    if not value:
        return None
    if not _INTEGER.fullmatch(value):
        raise _BadCell(f"{column}: “{_shown(value)}” is not a whole number.")
    # Python refuses to convert an integer string past 4,300 digits: one that long is out of
    # any bound, so the rule is shown a number just past it, and words the refusal itself.
    if len(value.lstrip("+-").lstrip("0")) > len(str(MAX_STOCK)):
        number = -(MAX_STOCK + 1) if value.startswith("-") else MAX_STOCK + 1
    else:
        number = int(value)
    _obeying(validate, column, number)
    return number


def _boolean(raw: str, column: str) -> bool | None:
    value = raw.strip().lower()
    if not value:
        return None
    if value in TRUE_WORDS:
        return True
    if value in FALSE_WORDS:
        return False
    raise _BadCell(f"{column}: write true or false, not “{_shown(raw.strip())}”.")


# --- checking each row on its own ---------------------------------------------------------------


def _read_row(
    *, columns: list[str], line: int, cells: dict[str, str], categories: dict[str, Category]
) -> tuple[_Row, list[str]]:
    """The row and every problem found in its cells alone (nothing that needs its other rows)."""
    problems: list[str] = []

    def check(parse: Callable[[], Any]) -> Any:
        try:
            return parse()
        except _BadCell as exc:
            problems.append(str(exc))
            return None

    handle = check(lambda: _text(cells["handle"], "handle", required=True))
    if handle:
        try:
            _obeying(validate_slug, "handle", handle)
        except _BadCell as exc:
            problems.append(str(exc))
            handle = None
    sku = check(lambda: _text(cells["sku"], "sku", required=True))
    if sku:
        check(lambda: _obeying(validate_sku, "sku", sku))

    product_cells: dict[str, Any] = {}
    given = {column for column in (*PRODUCT_TEXT_COLUMNS, *NAME_COLUMNS, "category") if cells.get(column, "").strip()}
    for column in (*PRODUCT_TEXT_COLUMNS, *NAME_COLUMNS):
        if column in given:
            value = check(lambda column=column: _text(cells[column], column))
            if value is not None:
                product_cells[column] = value
    category_slug = cells["category"].strip()
    if category_slug.lower() in categories:
        product_cells["category"] = categories[category_slug.lower()]
    elif category_slug:
        problems.append(f"category: no category has the slug “{_shown(category_slug)}”.")

    variant: dict[str, Any] = {}
    variant["price"] = check(lambda: _amount(cells["price"], "price", validate_price, required=True))
    if "mrp" in columns:
        variant["mrp"] = check(lambda: _amount(cells["mrp"], "mrp", validate_mrp))
    for column, name in zip(VALUE_COLUMNS, VALUE_FIELDS, strict=True):
        if column in columns:
            variant[name] = check(lambda column=column: _text(cells[column], column)) or ""
    if "is_active" in columns:
        is_active = check(lambda: _boolean(cells["is_active"], "is_active"))
        if is_active is not None:
            variant["is_active"] = is_active

    stock = check(lambda: _integer(cells["stock"], "stock", validate_stock)) if "stock" in columns else None
    add_stock = 0
    if "add_stock" in columns:
        add_stock = check(lambda: _integer(cells["add_stock"], "add_stock", validate_stock_delta)) or 0

    row = _Row(
        line=line,
        handle_key=handle.lower() if handle else None,
        sku=sku or None,
        product_cells=product_cells,
        given=given,
        variant=variant,
        stock=stock,
        add_stock=add_stock,
    )
    return row, problems


# --- checking the rows of a product together --------------------------------------------------


def _load(*, store: Store, rows: list[_Row]) -> _Lookups:
    handles = {row.handle_key for row in rows if row.handle_key}
    products = {
        product.handle_key: product
        for product in Product.objects.annotate(handle_key=Lower("slug")).filter(handle_key__in=handles)
    }
    own_ids = [product.pk for product in products.values() if product.store_id == store.pk]
    variants: dict[int, list[ProductVariant]] = defaultdict(list)
    for variant in ProductVariant.objects.filter(product_id__in=own_ids).order_by("position", "pk"):
        variants[variant.product_id].append(variant)
    options: dict[int, dict[int, ProductOption]] = defaultdict(dict)
    for option in ProductOption.objects.filter(product_id__in=own_ids):
        options[option.product_id][option.position] = option
    skus = {
        found["sku_key"]: found
        for found in ProductVariant.objects.annotate(sku_key=Lower("sku"))
        .filter(sku_key__in={row.sku.lower() for row in rows if row.sku})
        .values("pk", "sku_key", "product_id", "product__store_id", "product__slug")
    }
    return _Lookups(products=products, skus=skus, variants=variants, options=options)


def _validate(*, store: Store, columns: list[str], records: list[tuple[int, dict[str, str]]]) -> list[_Product]:
    slugs = {cells["category"].strip().lower() for _, cells in records}
    categories = {
        category.slug_key: category
        for category in Category.objects.annotate(slug_key=Lower("slug")).filter(slug_key__in=slugs)
    }
    errors: list[tuple[int, str]] = []
    rows: list[_Row] = []
    for line, cells in records:
        row, problems = _read_row(columns=columns, line=line, cells=cells, categories=categories)
        rows.append(row)
        errors.extend((line, message) for message in problems)

    lookups = _load(store=store, rows=rows)
    by_handle: dict[str, _Product] = {}
    for row in rows:
        if row.handle_key:
            by_handle.setdefault(row.handle_key, _Product(handle=row.handle_key, rows=[])).rows.append(row)
    errors.extend(_check_skus(store=store, rows=rows, lookups=lookups))
    for product in by_handle.values():
        errors.extend(_check_product(store=store, columns=columns, product=product, lookups=lookups))
    if errors:
        raise CsvImportFailed(sorted(errors, key=lambda error: error[0]))
    return list(by_handle.values())


def _check_skus(*, store: Store, rows: list[_Row], lookups: _Lookups) -> list[tuple[int, str]]:
    """Each SKU once in the file; a SKU already sold names a variant of the row's own product."""
    errors = []
    first_line: dict[str, int] = {}
    for row in rows:
        if not row.sku:
            continue
        key = row.sku.lower()
        if key in first_line:
            errors.append((row.line, f"sku: {_shown(row.sku)} already appears on line {first_line[key]}."))
            continue
        first_line[key] = row.line
        found = lookups.skus.get(key)
        if found is None:
            continue
        if found["product__store_id"] != store.pk:
            errors.append(
                (row.line, f"SKU taken by another seller: {_shown(row.sku)}. SKUs are unique across JoyCart.")
            )
            continue
        product = lookups.products.get(row.handle_key or "")
        if product is None or product.pk != found["product_id"]:
            errors.append(
                (
                    row.line,
                    f"sku: {_shown(row.sku)} is a variant of your product “{found['product__slug']}”; "
                    "use that handle (a variant cannot move to another product).",
                )
            )
            continue
        row.existing = next(variant for variant in lookups.variants[product.pk] if variant.pk == found["pk"])
    return errors


def _check_product(*, store: Store, columns: list[str], product: _Product, lookups: _Lookups) -> list[tuple[int, str]]:
    first = product.rows[0].line
    found = lookups.products.get(product.handle)
    if found is not None and found.store_id != store.pk:
        message = "handle: another product on JoyCart has this web address; choose another handle."
        return [(first, message)]
    product.product = found
    errors = _resolve_details(columns=columns, product=product)
    if not errors:
        errors += _check_options(columns=columns, product=product, lookups=lookups)
    return errors + _check_prices_and_stock(columns=columns, product=product)


def _same(column: str, one: Any, other: Any) -> bool:
    return one.pk == other.pk if column == "category" else one == other


def _resolve_details(*, columns: list[str], product: _Product) -> list[tuple[int, str]]:
    """The product's columns: the one value its rows give (they may repeat it), or blank."""
    errors = []
    first = product.rows[0].line
    for column in (*PRODUCT_TEXT_COLUMNS, "category", *NAME_COLUMNS):
        if column not in columns:
            continue
        value, given_on = None, None
        for row in product.rows:
            cell = row.product_cells.get(column)
            if cell is None:
                continue
            if value is None:
                value, given_on = cell, row.line
            elif not _same(column, cell, value):
                shown = value.slug if column == "category" else value
                errors.append(
                    (
                        row.line,
                        f"{column}: differs from line {given_on} of the same handle (“{_shown(shown)}”); "
                        "leave it blank or write the same.",
                    )
                )
        if value is None and not any(column in row.given for row in product.rows):
            if column == "title":
                errors.append((first, "title: required."))
            elif column == "category":
                errors.append((first, "category: required (a category's slug, such as sarees)."))
        product.details[column] = value if value is not None else ""
    return errors


def _check_prices_and_stock(*, columns: list[str], product: _Product) -> list[tuple[int, str]]:
    errors = []
    for row in product.rows:
        existing = row.existing
        price = row.variant["price"]
        mrp = row.variant["mrp"] if "mrp" in columns else (existing.mrp if existing else None)
        try:
            validate_mrp_not_below_price(price=price, mrp=mrp)
        except ValidationError as exc:
            kept = "" if "mrp" in columns else f" (the current MRP is {mrp}; add an mrp column to change it)"
            errors.append((row.line, _problem("mrp", f"{exc.messages[0].removesuffix('.')}{kept}.")))
        if row.add_stock and existing is None and row.sku:
            errors.append((row.line, "add_stock: only for variants you already sell; use stock for a new SKU."))
        if row.add_stock and existing is not None:
            refusal = stock_delta_refusal(current=existing.stock, delta=row.add_stock)
            if refusal:
                errors.append((row.line, _problem("add_stock", refusal)))
    return errors


def _option_names(*, columns: list[str], product: _Product, stored: dict[int, ProductOption]) -> list[str]:
    """The option names in position order as the file leaves them: a column left out keeps the stored name."""
    return [
        product.details[column] if column in columns else (stored[n].name if n in stored else "")
        for n, column in zip(POSITIONS, NAME_COLUMNS, strict=True)
    ]


def _values(variant: ProductVariant) -> tuple[str, ...]:
    return tuple(getattr(variant, name) for name in VALUE_FIELDS)


def _fits(values: tuple[str, ...], count: int) -> bool:
    """Whether a variant has a value for each of the first `count` options and none for the others."""
    return all(bool(value) == (n <= count) for n, value in enumerate(values, start=1))


def _check_options(*, columns: list[str], product: _Product, lookups: _Lookups) -> list[tuple[int, str]]:
    """The product's options and its variants' values once the file is applied: every variant has a
    value for each option and none for the others, and no two share a combination."""
    first = product.rows[0].line
    stored = lookups.options.get(product.product.pk, {}) if product.product else {}
    stored_variants = lookups.variants.get(product.product.pk, []) if product.product else []
    names = _option_names(columns=columns, product=product, stored=stored)
    count = len([name for name in names if name])
    if "" in names[:count]:
        return [(first, f"{NAME_COLUMNS[names.index('')]}: name the options in order, from option1_name.")]
    try:
        validate_option_names(names[:count])
    except ValidationError as exc:
        return [(first, _problem("option names", exc.messages[0]))]

    errors = []
    for row in product.rows:
        # A value column left out keeps the variant's stored value.
        row.values = tuple(
            row.variant.get(name, getattr(row.existing, name) if row.existing else "") for name in VALUE_FIELDS
        )
        for n, (column, value) in enumerate(zip(VALUE_COLUMNS, row.values, strict=True), start=1):
            if n <= count and not value:
                errors.append((row.line, f"{column}: required: the product's option “{names[n - 1]}” needs a value."))
            elif n > count and value:
                errors.append((row.line, f"{column}: the product has no option {n}; name it or leave this blank."))
    in_file = {row.existing.pk for row in product.rows if row.existing}
    kept = [variant for variant in stored_variants if variant.pk not in in_file]
    misfits = [variant.sku for variant in kept if not _fits(_values(variant), count)]
    if misfits:
        shown = ", ".join(misfits[:5]) + (f" and {len(misfits) - 5} more" if len(misfits) > 5 else "")
        errors.append(
            (
                first,
                f"option names: your variants {shown} are not in this file and would not fit these options; "
                "add them with their values.",
            )
        )
    if len(kept) + len(product.rows) > MAX_VARIANTS:
        errors.append((first, f"handle: a product has at most {MAX_VARIANTS} variants; this one would have more."))
    if errors:
        return errors

    owners = {_values(variant): f"your variant {variant.sku}" for variant in kept}
    for row in product.rows:
        owner = owners.setdefault(row.values, f"line {row.line}")
        if owner == f"line {row.line}":
            continue
        if count == 0:
            message = (
                f"sku: a product without options has one variant, and {owner} is it already; "
                "name an option (option1_name) to sell several."
            )
        else:
            message = f"option values: {' / '.join(row.values[:count])} already belong to {owner}."
        errors.append((row.line, message))
    product.option_names = names[:count]
    product.new_options = _options_to_write(product=product, stored=stored, kept=kept)
    product.next_position = max((variant.position for variant in stored_variants), default=-1) + 1
    return errors


def _options_to_write(
    *, product: _Product, stored: dict[int, ProductOption], kept: list[ProductVariant]
) -> list[tuple[int, str, list[str]]] | None:
    """The options as they must be, or None when the stored ones already are.

    An option keeps its values in the seller's order, and a value the file brings is added at the
    end; an option that is renamed (not just re-capitalised) gets the values its variants use.
    """
    variants_values = [_values(variant) for variant in kept] + [row.values for row in product.rows]
    wanted = []
    for n, name in enumerate(product.option_names, start=1):
        used = list(dict.fromkeys(values[n - 1] for values in variants_values))
        option = stored.get(n)
        same_option = option is not None and option.name.lower() == name.lower()
        values = list(option.values) if same_option else []
        values += [value for value in used if value not in values]
        wanted.append((n, name, values))
    current = [(n, option.name, list(option.values)) for n, option in sorted(stored.items())]
    return None if wanted == current else wanted


# --- writing --------------------------------------------------------------------------------


def _changes(obj: Any, wanted: dict[str, Any]) -> dict[str, Any]:
    changes = {}
    for name, value in wanted.items():
        current = obj.category_id if name == "category" else getattr(obj, name)
        if current != (value.pk if name == "category" else value):
            changes[name] = value
    return changes


def _bulk_update(model, changed: list[tuple[Any, dict[str, Any]]], *, now) -> None:
    """Write only the fields each row changes: rows are grouped by the fields they change, so a
    field the file left alone is never written back from the state read before the locks."""
    by_fields: dict[tuple[str, ...], list[Any]] = defaultdict(list)
    for obj, changes in changed:
        for name, value in changes.items():
            setattr(obj, name, value)
        obj.updated_at = now
        by_fields[tuple(sorted(changes))].append(obj)
    for fields, objs in by_fields.items():
        model.objects.bulk_update(objs, [*fields, "updated_at"], batch_size=500)


@dataclass
class _Writes:
    """The rows to insert and the changes to make, worked out before any lock is taken."""

    new_products: list[tuple[_Product, Product]] = field(default_factory=list)
    product_changes: list[tuple[Product, dict[str, Any]]] = field(default_factory=list)
    options: list[_Product] = field(default_factory=list)
    variant_changes: list[tuple[_Row, dict[str, Any]]] = field(default_factory=list)
    new_variants: list[tuple[_Product, _Row, int]] = field(default_factory=list)
    deltas: list[_Row] = field(default_factory=list)
    # Existing products the file changes, and those of them whose words the search reads.
    touched: set[int] = field(default_factory=set)


def _plan_writes(products: list[_Product]) -> _Writes:
    writes = _Writes()
    for product in products:
        details = {
            name: product.details[name] for name in (*PRODUCT_TEXT_COLUMNS, "category") if name in product.details
        }
        if product.product is None:
            prices = [row.variant["price"] for row in product.rows]
            # The summary columns are placeholders until `product_summary_refresh` reads the variants.
            new = Product(
                slug=product.handle, price=min(prices), price_max=max(prices), is_active=True,
                **{"description": "", "brand": "", **details},
            )  # fmt: skip
            writes.new_products.append((product, new))
            writes.options.append(product)
            writes.new_variants += [(product, row, position) for position, row in enumerate(product.rows)]
            continue
        existing = product.product
        changed = False
        changes = _changes(existing, details)
        if changes:
            writes.product_changes.append((existing, changes))
            changed = True
        if product.new_options is not None:
            writes.options.append(product)
            changed = True
        position = product.next_position
        for row in product.rows:
            if row.existing is None:
                writes.new_variants.append((product, row, position))
                position += 1
                changed = True
                continue
            wanted = {name: value for name, value in row.variant.items() if name not in VALUE_FIELDS}
            variant_changes = _changes(row.existing, wanted | dict(zip(VALUE_FIELDS, row.values, strict=True)))
            if variant_changes:
                writes.variant_changes.append((row, variant_changes))
                changed = True
            if row.add_stock:
                writes.deltas.append(row)
                changed = True
        if changed:
            writes.touched.add(existing.pk)
    return writes


def _write(*, store: Store, products: list[_Product]) -> ImportSummary:
    now = timezone.now()
    writes = _plan_writes(products)
    for _, new in writes.new_products:
        new.store = store
    updated_lines = {row.line for row, _ in writes.variant_changes} | {row.line for row in writes.deltas}
    summary = ImportSummary(
        created=len(writes.new_products),
        updated=len(writes.touched),
        unchanged=sum(1 for product in products if product.product) - len(writes.touched),
        stock_ignored=sum(
            1
            for product in products
            for row in product.rows
            if row.existing and row.stock is not None and row.stock != row.existing.stock
        ),
        variants_created=len(writes.new_variants),
        variants_updated=len(updated_lines),
    )
    try:
        with transaction.atomic():
            _lock(products=products, writes=writes)
            Product.objects.bulk_create([new for _, new in writes.new_products], batch_size=500)
            for product, new in writes.new_products:
                product.product = new
            _bulk_update(Product, writes.product_changes, now=now)
            _options_write(writes.options)
            # Changed combinations first, so a new variant may take one an existing variant gave up.
            _bulk_update(ProductVariant, [(row.existing, changes) for row, changes in writes.variant_changes], now=now)
            ProductVariant.objects.bulk_create(
                [
                    _new_variant(product=product, row=row, position=position)
                    for product, row, position in writes.new_variants
                ],
                batch_size=500,
            )
            _apply_deltas(writes.deltas, now=now)
            created = [new.pk for _, new in writes.new_products]
            touched = created + sorted(writes.touched)
            if touched:
                product_summary_refresh(product_ids=touched)
                # The search document holds the variants' option values and SKUs as well as the texts.
                search_vector_refresh(Product.objects.filter(pk__in=touched))
                bump_after_commit(product_ids=touched, listing=True)
    except IntegrityError as exc:
        # Validation saw every row; only a concurrent change can collide now.
        message = (
            "Another change took one of these SKUs, handles or option combinations while importing. "
            "Upload the file again."
        )
        raise CsvImportFailed([(FILE_LINE, message)]) from exc

    return summary


def _new_variant(*, product: _Product, row: _Row, position: int) -> ProductVariant:
    return ProductVariant(
        product=product.product,
        sku=row.sku,
        price=row.variant["price"],
        mrp=row.variant.get("mrp"),
        stock=row.stock or 0,
        is_active=row.variant.get("is_active", True),
        position=position,
        **dict(zip(VALUE_FIELDS, row.values, strict=True)),
    )


def _options_write(products: list[_Product]) -> None:
    """Replace the options of each product whose options change: a rename or a new position never
    meets the unique name and position rules halfway."""
    ProductOption.objects.filter(product_id__in=[product.product.pk for product in products]).delete()
    ProductOption.objects.bulk_create(
        [
            ProductOption(product=product.product, position=position, name=name, values=values)
            for product in products
            for position, name, values in (product.new_options or [])
        ],
        batch_size=500,
    )


def _lock(*, products: list[_Product], writes: _Writes) -> None:
    """Lock the products to change in primary-key order, then their variants to change, and fail
    if one vanished meanwhile."""
    errors = []
    if writes.touched:
        missing = writes.touched - products_lock(product_ids=writes.touched)
        errors += [
            (product.rows[0].line, "This product was deleted while the file was importing.")
            for product in products
            if product.product and product.product.pk in missing
        ]
    rows = [row for row, _ in writes.variant_changes] + writes.deltas
    if rows and not errors:
        still_there = variants_lock(variant_ids={row.existing.pk for row in rows})
        errors += sorted(
            {
                (row.line, "This variant was deleted while the file was importing.")
                for row in rows
                if row.existing.pk not in still_there
            }
        )
    if errors:
        raise CsvImportFailed(errors)


def _apply_deltas(rows: list[_Row], *, now) -> None:
    """The stock service's conditional updates, under the product locks: a sale or adjustment since
    validation can still make a delta break the bounds, and then all rolls back."""
    errors = []
    for row in sorted(rows, key=lambda row: row.existing.pk):
        refusal = stock_delta_apply(variant_id=row.existing.pk, delta=row.add_stock, now=now)
        if refusal:
            errors.append((row.line, _problem("add_stock", refusal)))
    if errors:
        raise CsvImportFailed(sorted(errors))


# --- exporting -------------------------------------------------------------------------------


def products_export_csv_rows(*, store: Store) -> Iterator[list[str]]:
    """The header, then one row per variant in the import's format: exporting and importing back changes nothing.

    The product's columns are written on its first row only; its other rows give just the handle.
    Text a spreadsheet would run as a formula is escaped (`csv_cell`), and the import takes the
    escape off again. One query, streamed: a large catalogue is never held in memory.
    """
    yield list(CSV_EXPORT_COLUMNS)
    previous = None
    for product_id, handle, *texts, sku, price, mrp, stock, is_active in seller_products_export(store=store).iterator(
        chunk_size=1000
    ):
        title, description, category, brand, *options = texts
        names, values = options[0::2], options[1::2]
        if product_id == previous:
            title = description = category = brand = ""
            names = [""] * len(names)
        previous = product_id
        option_cells = [cell for pair in zip(names, values, strict=True) for cell in pair]
        text = [handle, title, description, category, brand, *(cell or "" for cell in option_cells), sku]
        numbers = [str(price), "" if mrp is None else str(mrp), str(stock), str(is_active).lower()]
        yield [*map(csv_cell, text), *numbers]
