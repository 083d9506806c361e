"""Small whole numbers typed by people: a cart quantity, a review's rating."""

import re

# A sign is allowed ("+2"); more than six digits cannot be in any range we ask for.
_WHOLE_NUMBER = re.compile(r"[+-]?\d{1,6}", re.ASCII)


def bounded_int(value: object, *, low: int, high: int) -> int | None:
    """`value` (an int, or its text in ASCII digits, spaces around allowed) when low <= it <= high, else None.

    A bool is an int to Python but never a count, and 2.0 or "2.5" are refused rather than
    rounded: the caller asked for a whole number.
    """
    if isinstance(value, str) and _WHOLE_NUMBER.fullmatch(value.strip()):
        value = int(value.strip())
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        return None
    return value
