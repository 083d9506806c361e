"""The rules for a product's SKU, prices and stock, written once.

The model's fields, the seller form, the seller API's serializer, the CSV import and the
product services all call these same functions, so no door accepts what another refuses.
They raise Django's `ValidationError`, which forms and DRF serializers both show as a field
error; the services turn it into their domain error.
"""

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator

from joycart.money import format_inr

# Ten of the dearest product (a line's most) still fit an order's amount column (12 digits,
# 2 decimals: at most 9,999,999,999.99), so a line total or a refund of it can always be stored.
MAX_PRICE = Decimal("99999999.99")
MAX_STOCK = 1_000_000  # far above any real shelf, far below the column's limit

SKU_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._/-]*\Z"
SKU_HELP = "Use letters, digits and . _ / - only, starting with a letter or digit."

validate_sku = RegexValidator(SKU_PATTERN, message=SKU_HELP, code="invalid_sku")


def _validate_amount(value: Decimal | None, *, name: str) -> None:
    if value is None or value <= 0:
        raise ValidationError(f"The {name} must be above ₹0.", code="invalid_price")
    if value > MAX_PRICE:
        raise ValidationError(f"The {name} can be at most {format_inr(MAX_PRICE)}.", code="price_too_large")


def validate_price(value: Decimal | None) -> None:
    _validate_amount(value, name="price")


def validate_mrp(value: Decimal | None) -> None:
    """The MRP is optional, but when given it obeys the same bounds as the price."""
    _validate_amount(value, name="MRP")


def mrp_below_price(*, price: Decimal | None, mrp: Decimal | None) -> bool:
    """Whether the MRP breaks `validate_mrp_not_below_price`; a missing amount breaks nothing."""
    return price is not None and mrp is not None and mrp < price


def validate_mrp_not_below_price(*, price: Decimal | None, mrp: Decimal | None) -> None:
    """The struck-out MRP is never below what buyers pay (a database constraint too)."""
    if mrp_below_price(price=price, mrp=mrp):
        raise ValidationError("The MRP must be at least the price.", code="invalid_price")


def validate_stock(value: int) -> None:
    """A stock is what is on the shelf: from 0 to MAX_STOCK."""
    if value < 0:
        raise ValidationError("Cannot be negative.", code="invalid_stock")
    if value > MAX_STOCK:
        raise ValidationError(f"At most {MAX_STOCK:,}.", code="invalid_stock")


def validate_stock_delta(value: int) -> None:
    """A change of stock, up or down, is never more than a whole stock can be."""
    if abs(value) > MAX_STOCK:
        raise ValidationError(f"At most {MAX_STOCK:,}.", code="invalid_stock")


def validate_option_names(names: list[str]) -> None:
    """A product's option names in position order: each one named, no name twice, capitals aside
    (as the database's unique rule compares them)."""
    if any(not name.strip() for name in names):
        raise ValidationError("Every option needs a name.", code="invalid_options")
    seen: set[str] = set()
    for name in names:
        if name.strip().lower() in seen:
            raise ValidationError(f"Option names must differ: “{name.strip()}” is used twice.", code="invalid_options")
        seen.add(name.strip().lower())
