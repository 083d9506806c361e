"""Rupee amounts: Decimal everywhere, paise only at the gateway, Indian digit grouping on screen."""

from decimal import ROUND_HALF_UP, Decimal

PAISA = Decimal("0.01")


def format_inr(amount: Decimal | int | str | None) -> str:
    """₹1,23,456.00: the last three digits, then groups of two (the Indian system)."""
    if amount is None or amount == "":
        return ""
    value = Decimal(amount).quantize(PAISA, rounding=ROUND_HALF_UP)
    sign = "-" if value < 0 else ""
    rupees, paise = f"{abs(value):.2f}".split(".")
    if len(rupees) > 3:
        head, tail = rupees[:-3], rupees[-3:]
        groups = []
        while len(head) > 2:
            groups.insert(0, head[-2:])
            head = head[:-2]
        if head:
            groups.insert(0, head)
        rupees = ",".join([*groups, tail])
    return f"{sign}₹{rupees}.{paise}"
