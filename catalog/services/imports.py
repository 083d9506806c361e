"""Bulk product import from a seller's CSV file: every row or none.

The whole file is checked in memory with a fixed number of queries (categories, existing
SKUs, clashing slugs), then written in one transaction with bulk statements, so a
5,000-row file costs about as many queries as a 5-row one.

Stock from the file is only a starting value for new SKUs. An existing product's stock
may have sold since the file was exported, so it changes only by an `add_stock` delta.
"""

import csv
import io
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from functools import reduce
from operator import or_
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone

from accounts.models import Store
from catalog.cache import bump_after_commit
from catalog.errors import CsvImportFailed
from catalog.locks import products_lock
from catalog.models import Category, Product, ProductVariant
from catalog.selectors import seller_products_export
from catalog.services.products import search_vector_refresh, slug_base
from catalog.services.stock import stock_delta_apply, stock_delta_refusal
from catalog.validators import (
    MAX_STOCK,
    validate_mrp,
    validate_mrp_not_below_price,
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

CSV_COLUMNS = ("sku", "title", "description", "category", "brand", "price", "mrp", "stock", "add_stock", "is_active")
CSV_EXPORT_COLUMNS = ("sku", "title", "description", "category", "brand", "price", "mrp", "stock", "is_active")
REQUIRED_COLUMNS = ("sku", "title", "category", "price")
TEXT_LIMITS = {
    "sku": ProductVariant._meta.get_field("sku").max_length,
    **{name: Product._meta.get_field(name).max_length for name in ("title", "description", "brand")},
}
TRUE_WORDS = {"true", "yes", "y", "1"}
FALSE_WORDS = {"false", "no", "n", "0"}

_AMOUNT = re.compile(r"\d+(\.\d+)?")
_INTEGER = re.compile(r"[+-]?\d+")


@dataclass(frozen=True)
class ImportSummary:
    created: int
    updated: int
    unchanged: int = 0
    # Existing products whose `stock` cell differed from their stock: that cell is ignored.
    stock_ignored: int = 0


@dataclass
class _Row:
    line: int
    sku: str
    # Only the details the file sets. A column left out of the file keeps an existing
    # product's value; a blank `is_active` keeps it too.
    details: dict[str, Any]
    stock: int | None
    add_stock: int
    existing: Product | None


@dataclass
class _Plan:
    new: list[_Row] = field(default_factory=list)
    existing: list[_Row] = field(default_factory=list)


class _BadCell(ValueError):
    pass


def products_import_csv(*, store: Store, file, progress: Callable[[str], None] | None = None) -> ImportSummary:
    """Create and update `store`'s products from a CSV file, or raise `CsvImportFailed` and write nothing.

    `progress`, if given, is called with the name of each of `IMPORT_STAGES` as it is done.
    """
    report = progress or (lambda stage: None)
    text = _read_text(file)
    report("read")
    columns, records = _parse(text)
    plan = _validate(store=store, columns=columns, records=records)
    report("validate")
    summary = _write(store=store, plan=plan)
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
                errors.append((line, f"The file has more than {MAX_ROWS:,} products. Split it into smaller files."))
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


# --- validating rows -----------------------------------------------------------------------


def _validate(*, store: Store, columns: list[str], records: list[tuple[int, dict[str, str]]]) -> _Plan:
    slugs = {cells["category"].strip().lower() for _, cells in records}
    categories = {
        category.slug_key: category
        for category in Category.objects.annotate(slug_key=Lower("slug")).filter(slug_key__in=slugs)
    }
    keys = {cells["sku"].strip().lower() for _, cells in records}
    existing = {
        product.sku_key: product for product in Product.objects.annotate(sku_key=Lower("sku")).filter(sku_key__in=keys)
    }

    plan = _Plan()
    errors: list[tuple[int, str]] = []
    first_line: dict[str, int] = {}
    for line, cells in records:
        row, row_errors = _validate_row(
            store=store, columns=columns, line=line, cells=cells, categories=categories, existing=existing
        )
        if row is not None:
            key = row.sku.lower()
            if key in first_line:
                row_errors.append(f"sku: {_shown(row.sku)} already appears on line {first_line[key]}.")
            else:
                first_line[key] = line
        errors.extend((line, message) for message in row_errors)
        if row is not None and not row_errors:
            (plan.new if row.existing is None else plan.existing).append(row)
    if errors:
        raise CsvImportFailed(errors)
    return plan


def _validate_row(
    *,
    store: Store,
    columns: list[str],
    line: int,
    cells: dict[str, str],
    categories: dict[str, Category],
    existing: dict[str, Product],
) -> tuple[_Row | None, list[str]]:
    """The row (None when it has no SKU) and every problem found on it."""
    problems: list[str] = []

    def check(parse: Callable[[], Any]) -> Any:
        try:
            return parse()
        except _BadCell as exc:
            problems.append(str(exc))
            return None

    sku = check(lambda: _text(cells["sku"], "sku", required=True))
    if sku:
        check(lambda: _obeying(validate_sku, "sku", sku))
    product = existing.get(sku.lower()) if sku else None
    taken_elsewhere = product is not None and product.store_id != store.pk
    if taken_elsewhere:
        problems.append(f"SKU taken by another seller: {_shown(sku)}. SKUs are unique across JoyCart.")
        product = None

    details: dict[str, Any] = {"title": check(lambda: _text(cells["title"], "title", required=True))}
    for column in ("description", "brand"):
        if column in columns:
            details[column] = check(lambda column=column: _text(cells[column], column))
    category_slug = cells["category"].strip()
    if not category_slug:
        problems.append("category: required (a category's slug, such as sarees).")
    elif category_slug.lower() not in categories:
        problems.append(f"category: no category has the slug “{_shown(category_slug)}”.")
    else:
        details["category"] = categories[category_slug.lower()]

    price = details["price"] = check(lambda: _amount(cells["price"], "price", validate_price, required=True))
    if "mrp" in columns:
        mrp = details["mrp"] = check(lambda: _amount(cells["mrp"], "mrp", validate_mrp))
    else:
        mrp = product.mrp if product is not None else None
    try:
        validate_mrp_not_below_price(price=price, mrp=mrp)
    except ValidationError as exc:
        kept = "" if "mrp" in columns else f" (the current MRP is {mrp}; add an mrp column to change it)"
        problems.append(_problem("mrp", f"{exc.messages[0].removesuffix('.')}{kept}."))

    stock = check(lambda: _integer(cells["stock"], "stock", validate_stock)) if "stock" in columns else None
    add_stock = 0
    if "add_stock" in columns:
        add_stock = check(lambda: _integer(cells["add_stock"], "add_stock", validate_stock_delta)) or 0
    if add_stock and sku and product is None and not taken_elsewhere:
        problems.append("add_stock: only for products you already sell; use stock for a new SKU.")
    if product is not None and add_stock:
        refusal = stock_delta_refusal(current=product.stock, delta=add_stock)
        if refusal:
            problems.append(_problem("add_stock", refusal))

    if "is_active" in columns:
        is_active = check(lambda: _boolean(cells["is_active"], "is_active"))
        if is_active is not None:
            details["is_active"] = is_active

    if not sku:
        return None, problems
    return _Row(line=line, sku=sku, details=details, stock=stock, add_stock=add_stock, existing=product), problems


# --- writing --------------------------------------------------------------------------------


def _changed_details(row: _Row) -> dict[str, Any]:
    product = row.existing
    changes = {}
    for name, value in row.details.items():
        current = product.category_id if name == "category" else getattr(product, name)
        wanted = value.pk if name == "category" else value
        if current != wanted:
            changes[name] = value
    return changes


def _new_slugs(rows: list[_Row]) -> list[str]:
    """Unique slugs for new products with two queries at most, however many rows."""
    bases = [slug_base(row.details["title"], row.sku) for row in rows]
    taken = set(Product.objects.filter(slug__in=set(bases)).values_list("slug", flat=True))
    # A base used twice, or already taken, gets numbered suffixes: find which of those exist.
    uses = Counter(bases)
    clashing = {base for base in uses if base in taken or uses[base] > 1}
    if clashing:
        suffixed = reduce(or_, (Q(slug__startswith=f"{base}-") for base in clashing))
        taken |= set(Product.objects.filter(suffixed).values_list("slug", flat=True))
    slugs = []
    for base in bases:
        slug, suffix = base, 2
        while slug in taken:
            slug, suffix = f"{base}-{suffix}", suffix + 1
        taken.add(slug)
        slugs.append(slug)
    return slugs


def _write(*, store: Store, plan: _Plan) -> ImportSummary:
    now = timezone.now()
    new_products = [
        Product(
            store=store,
            sku=row.sku,
            slug=slug,
            stock=row.stock or 0,
            **{"description": "", "brand": "", "mrp": None, "is_active": True, **row.details},
        )
        for row, slug in zip(plan.new, _new_slugs(plan.new), strict=True)
    ]
    changed: dict[int, dict[str, Any]] = {}
    for row in plan.existing:
        changes = _changed_details(row)
        if changes:
            changed[row.existing.pk] = changes
            for name, value in changes.items():
                setattr(row.existing, name, value)
            row.existing.updated_at = now
    deltas = sorted((row.existing.pk, row.add_stock, row.line) for row in plan.existing if row.add_stock)
    touched_existing = sorted(set(changed) | {pk for pk, _, _ in deltas})

    try:
        with transaction.atomic():
            _lock_existing(plan.existing, touched_existing)
            Product.objects.bulk_create(new_products, batch_size=500)
            if changed:
                fields = sorted({name for changes in changed.values() for name in changes} | {"updated_at"})
                to_update = [row.existing for row in plan.existing if row.existing.pk in changed]
                Product.objects.bulk_update(to_update, fields, batch_size=500)
            _apply_deltas(deltas, now=now)
            touched = [product.pk for product in new_products] + touched_existing
            if touched:
                search_vector_refresh(Product.objects.filter(pk__in=touched))
                bump_after_commit(product_ids=touched, listing=True)
    except IntegrityError as exc:
        # Validation saw every row; only a concurrent change can collide now.
        message = "Another change took one of these SKUs or web addresses while importing. Upload the file again."
        raise CsvImportFailed([(FILE_LINE, message)]) from exc

    stock_ignored = sum(1 for row in plan.existing if row.stock is not None and row.stock != row.existing.stock)
    return ImportSummary(
        created=len(new_products),
        updated=len(touched_existing),
        unchanged=len(plan.existing) - len(touched_existing),
        stock_ignored=stock_ignored,
    )


def _lock_existing(rows: list[_Row], product_ids: list[int]) -> None:
    """Lock the rows to change, and fail if one vanished meanwhile."""
    if not product_ids:
        return
    still_there = products_lock(product_ids=product_ids)
    missing = set(product_ids) - still_there
    gone = [
        (row.line, "This product was deleted while the file was importing.")
        for row in rows
        if row.existing.pk in missing
    ]
    if gone:
        raise CsvImportFailed(gone)


def _apply_deltas(deltas: list[tuple[int, int, int]], *, now) -> None:
    """The stock service's conditional updates: a sale or adjustment since validation can still make
    a delta break the bounds, and then all rolls back."""
    errors = []
    for product_id, delta, line in deltas:
        refusal = stock_delta_apply(product_id=product_id, delta=delta, now=now)
        if refusal:
            errors.append((line, _problem("add_stock", refusal)))
    if errors:
        raise CsvImportFailed(errors)


# --- exporting -------------------------------------------------------------------------------


def products_export_csv_rows(*, store: Store) -> Iterator[list[str]]:
    """The header, then one row per product in the import's format: exporting and importing back changes nothing.

    Text a spreadsheet would run as a formula is escaped (`csv_cell`), and the import takes the
    escape off again. One query, streamed: a large catalogue is never held in memory.
    """
    yield list(CSV_EXPORT_COLUMNS)
    for row in seller_products_export(store=store).iterator(chunk_size=1000):
        sku, title, description, category, brand, price, mrp, stock, is_active = row
        numbers = [str(price), "" if mrp is None else str(mrp), str(stock), str(is_active).lower()]
        yield [*map(csv_cell, (sku, title, description, category, brand)), *numbers]
