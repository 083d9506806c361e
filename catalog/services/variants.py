"""A product's options ("Size": S, M, L) and its variants (one combination each, with its own SKU, price and stock).

Every function here locks the product row first (`catalog.locks.product_lock`), so changes to one
product's variants, its stock and its summary run one after another; then it writes, refreshes the
product's summary and search document, and bumps the caches after commit. Stock is changed only
through `stock.py`, so a sale is never overwritten.
"""

from dataclasses import dataclass
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from catalog.cache import bump_after_commit
from catalog.errors import DuplicateSku, InvalidOptions, InvalidVariant
from catalog.locks import product_lock
from catalog.models import (
    MAX_OPTION_NAME_LENGTH,
    MAX_OPTION_VALUE_LENGTH,
    MAX_OPTIONS,
    MAX_VARIANTS,
    Product,
    ProductImage,
    ProductOption,
    ProductVariant,
)
from catalog.selectors import sku_taken
from catalog.services.products import (
    prices_check,
    product_create,
    product_update,
    search_vector_refresh,
    sku_check,
    stock_check,
)
from catalog.services.summary import product_summary_refresh
from joycart.errors import DomainError

OPTION_COLUMNS = ("option1", "option2", "option3")
VARIANT_EDITABLE_FIELDS = ("sku", "price", "mrp", "is_active", "option_values", "image", "position")


@dataclass(frozen=True)
class Option:
    name: str
    values: list[str]


def _text(value: object, *, what: str, max_length: int) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidOptions(f"Each {what} needs some text.")
    value = value.strip()
    if len(value) > max_length:
        raise InvalidOptions(f"“{value[:20]}…” is too long: a {what} has at most {max_length} characters.")
    return value


def options_clean(options: list[dict]) -> list[Option]:
    """The shape every door's options must have: up to 3, named, each with distinct values (any case)."""
    if len(options) > MAX_OPTIONS:
        raise InvalidOptions(f"A product has at most {MAX_OPTIONS} options.")
    cleaned: list[Option] = []
    for option in options:
        if not isinstance(option, dict):
            raise InvalidOptions("Give each option as a name and a list of values.")
        name = _text(option.get("name"), what="option name", max_length=MAX_OPTION_NAME_LENGTH)
        if any(other.name.casefold() == name.casefold() for other in cleaned):
            raise InvalidOptions(f"The option “{name}” is listed twice.")
        raw_values = option.get("values")
        if not isinstance(raw_values, list) or not raw_values:
            raise InvalidOptions(f"Give “{name}” at least one value.")
        values: list[str] = []
        for raw in raw_values:
            value = _text(raw, what="option value", max_length=MAX_OPTION_VALUE_LENGTH)
            if any(other.casefold() == value.casefold() for other in values):
                raise InvalidOptions(f"“{value}” is listed twice under “{name}”.")
            values.append(value)
        cleaned.append(Option(name=name, values=values))
    return cleaned


def _value_moves(old: list[str], new: list[str]) -> tuple[dict[str, str], list[str]]:
    """How each old value of one option maps to a new one, and which old values are gone.

    A value kept (in any case, anywhere in the list) keeps its variants; an old value whose place
    in the list now holds a value that is new is a rename; any other old value is removed.
    """
    new_by_key = {value.casefold(): value for value in new}
    old_keys = {value.casefold() for value in old}
    moves: dict[str, str] = {}
    removed: list[str] = []
    for index, value in enumerate(old):
        if value.casefold() in new_by_key:
            moves[value] = new_by_key[value.casefold()]
        elif index < len(new) and new[index].casefold() not in old_keys:
            moves[value] = new[index]
        else:
            removed.append(value)
    return moves, removed


def product_options_set(*, product: Product, options: list[dict]) -> list[ProductOption]:
    """Replace a product's options (`[{"name": "Size", "values": ["S", "M"]}, ...]`), keeping its variants valid.

    Options are matched by position, values by text (any case) and else by position:
    - a product with one variant may gain or lose options: its variant takes the first value of
      each new option and drops the values of removed ones;
    - a product with several variants keeps its number of options (each combination would
      otherwise be ambiguous or collide); deactivate variants first, or make a new product;
    - options and values may be renamed (a new text in the same place) and values reordered or
      added: the variants' values follow a rename in the same transaction;
    - a value that a variant (active or not) still uses cannot be removed (`InvalidOptions`).
    """
    cleaned = options_clean(options)
    with transaction.atomic():
        product_lock(product_id=product.pk)
        current = [Option(name=option.name, values=list(option.values)) for option in product.options.all()]
        variants = list(product.variants.all())
        if len(cleaned) != len(current) and len(variants) > 1:
            verb = "add" if len(cleaned) > len(current) else "remove"
            raise InvalidOptions(
                f"This product has {len(variants)} variants, so you cannot {verb} an option. Change the values instead."
            )
        moves_by_position: list[dict[str, str]] = []
        for position, option in enumerate(cleaned):
            if position >= len(current):
                moves_by_position.append({})
                continue
            moves, removed = _value_moves(current[position].values, option.values)
            in_use = {getattr(variant, OPTION_COLUMNS[position]) for variant in variants}
            still_used = [value for value in removed if value in in_use]
            if still_used:
                raise InvalidOptions(
                    f"“{still_used[0]}” of “{option.name}” is used by a variant. Deactivate or change that variant first."
                )
            moves_by_position.append(moves)
        now = timezone.now()
        for variant in variants:
            values = []
            for position, option in enumerate(cleaned):
                if position >= len(current):
                    values.append(option.values[0])
                else:
                    values.append(moves_by_position[position].get(getattr(variant, OPTION_COLUMNS[position]), ""))
            values += [""] * (MAX_OPTIONS - len(values))
            if values != [getattr(variant, column) for column in OPTION_COLUMNS]:
                ProductVariant.objects.filter(pk=variant.pk).update(
                    **dict(zip(OPTION_COLUMNS, values, strict=True)), updated_at=now
                )
        product.options.all().delete()
        saved = ProductOption.objects.bulk_create(
            ProductOption(product=product, position=position, name=option.name, values=option.values)
            for position, option in enumerate(cleaned, start=1)
        )
        search_vector_refresh(Product.objects.filter(pk=product.pk))
        bump_after_commit(product_ids=[product.pk], listing=True)
    return saved


def _option_values_clean(*, product: Product, option_values: list[str]) -> dict[str, str]:
    """The variant's option columns, each value spelled as its option lists it; `InvalidVariant` otherwise."""
    options = list(product.options.all())
    if not isinstance(option_values, list | tuple) or len(option_values) != len(options):
        names = ", ".join(option.name for option in options) or "none"
        raise InvalidVariant(f"Give one value for each option of this product ({names}).")
    columns = dict.fromkeys(OPTION_COLUMNS, "")
    for column, option, value in zip(OPTION_COLUMNS, options, option_values, strict=False):
        listed = {listed.casefold(): listed for listed in option.values}
        key = value.strip().casefold() if isinstance(value, str) else None
        if key not in listed:
            raise InvalidVariant(f"Choose one of {', '.join(option.values)} for “{option.name}”.")
        columns[column] = listed[key]
    return columns


def _combination_check(*, product: Product, columns: dict[str, str], exclude: ProductVariant | None = None) -> None:
    twins = ProductVariant.objects.filter(product=product, **columns)
    if exclude is not None:
        twins = twins.exclude(pk=exclude.pk)
    if twins.exists():
        raise InvalidVariant("This combination already exists.")


def _image_check(*, product: Product, image: ProductImage | None) -> None:
    if image is not None and image.product_id != product.pk:
        raise InvalidVariant("Choose one of this product's own images.")


def _refresh(product: Product) -> None:
    product_summary_refresh(product_ids=[product.pk])
    search_vector_refresh(Product.objects.filter(pk=product.pk))
    bump_after_commit(product_ids=[product.pk], listing=True)


def variant_create(
    *,
    product: Product,
    sku: str,
    price: Decimal,
    stock: int = 0,
    mrp: Decimal | None = None,
    option_values: list[str],
    is_active: bool = True,
    image: ProductImage | None = None,
    position: int | None = None,
) -> ProductVariant:
    """Add a combination of the product's option values, with its own SKU (unique across all sellers).

    It goes after the product's other variants unless `position` places it."""
    sku = sku.strip() if isinstance(sku, str) else ""
    sku_check(sku)
    prices_check(price, mrp)
    stock_check(stock)
    _image_check(product=product, image=image)
    if sku_taken(sku):
        raise DuplicateSku()
    try:
        with transaction.atomic():
            product_lock(product_id=product.pk)
            columns = _option_values_clean(product=product, option_values=option_values)
            _combination_check(product=product, columns=columns)
            if product.variants.count() >= MAX_VARIANTS:
                raise InvalidVariant(f"A product has at most {MAX_VARIANTS} variants.")
            last_position = product.variants.aggregate(last=Max("position"))["last"] or 0
            variant = ProductVariant.objects.create(
                product=product,
                sku=sku,
                price=price,
                mrp=mrp,
                stock=stock,
                is_active=is_active,
                image=image,
                position=last_position + 1 if position is None else position,
                **columns,
            )
            _refresh(product)
    except IntegrityError as exc:
        # Both uniques were checked under the lock; only another seller's concurrent twin SKU is left.
        raise DuplicateSku() from exc
    return variant


def variant_update(*, variant: ProductVariant, **changes) -> ProductVariant:
    """Edit a variant's SKU, prices, active flag, option values, image or position. Stock: see `stock.py`."""
    unknown = set(changes) - set(VARIANT_EDITABLE_FIELDS)
    if unknown:
        raise ValueError(f"not editable here: {', '.join(sorted(unknown))}")
    product = variant.product
    if "sku" in changes:
        changes["sku"] = changes["sku"].strip() if isinstance(changes["sku"], str) else ""
        sku_check(changes["sku"])
        if sku_taken(changes["sku"], exclude_variant=variant):
            raise DuplicateSku()
    if "price" in changes or "mrp" in changes:
        prices_check(
            changes.get("price", variant.price),
            changes.get("mrp", variant.mrp),
            changed=tuple(name for name in ("price", "mrp") if name in changes),
        )
    if "image" in changes:
        _image_check(product=product, image=changes["image"])
    try:
        with transaction.atomic():
            product_lock(product_id=product.pk)
            columns = {}
            if "option_values" in changes:
                columns = _option_values_clean(product=product, option_values=changes.pop("option_values"))
                _combination_check(product=product, columns=columns, exclude=variant)
            fields = {**changes, **columns}
            ProductVariant.objects.filter(pk=variant.pk).update(**fields, updated_at=timezone.now())
            _refresh(product)
    except IntegrityError as exc:
        raise DuplicateSku() from exc
    variant.refresh_from_db()
    return variant


def variant_deactivate(*, variant: ProductVariant) -> ProductVariant:
    """Stop selling a variant. Its row stays: order items that sold it point at it (PROTECT)."""
    return variant_update(variant=variant, is_active=False)


def product_create_with_options(*, options: list[dict] | None = None, **details) -> Product:
    """`product_create`, then its options, in one transaction: refused options leave no product behind."""
    cleaned = options_clean(options or [])
    with transaction.atomic():
        product = product_create(**details)
        if cleaned:
            product_options_set(product=product, options=options)
    return product


def product_update_with_options(*, product: Product, options: list[dict] | None = None, **changes) -> Product:
    """`product_update`, then (when given) the options, in one transaction: one refusal changes nothing."""
    with transaction.atomic():
        if changes:
            product_update(product=product, **changes)
        if options is not None:
            product_options_set(product=product, options=options)
    return product


class VariantRefused(Exception):
    """A refusal of one of several variants' edits: which variant, and the domain error."""

    def __init__(self, *, variant_id: int, error: DomainError) -> None:
        self.variant_id = variant_id
        self.error = error
        super().__init__(error.message)


def variants_update(*, product: Product, changes: dict[int, dict]) -> None:
    """Several variants' edits (the seller's grid), in one transaction: one refusal saves none of them.

    Raises `VariantRefused`, naming the variant whose edit was refused."""
    variants = {variant.pk: variant for variant in product.variants.filter(pk__in=list(changes))}
    with transaction.atomic():
        for variant_id, fields in changes.items():
            try:
                variant_update(variant=variants[variant_id], **fields)
            except DomainError as exc:
                raise VariantRefused(variant_id=variant_id, error=exc) from exc
