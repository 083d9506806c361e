from decimal import Decimal

import pytest

from joycart.money import format_inr


@pytest.mark.parametrize(
    ("amount", "shown"),
    [
        (Decimal("0"), "₹0.00"),
        (Decimal("999.5"), "₹999.50"),
        (Decimal("1000"), "₹1,000.00"),
        (Decimal("123456"), "₹1,23,456.00"),
        (Decimal("12345678.9"), "₹1,23,45,678.90"),
        (Decimal("-1500.255"), "-₹1,500.26"),
        (None, ""),
    ],
)
def test_amounts_use_indian_digit_grouping(amount, shown):
    assert format_inr(amount) == shown
