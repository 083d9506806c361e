"""Ids that arrive as text: in a path, a query string, a form field, or a gateway's notes.

Primary keys are positive 64-bit integers, so anything else can only be a forged or fuzzed
id: it matches nothing, and is refused here before it reaches the database (where an
out-of-range integer would be an error, not an empty result).
"""

MAX_ID = 2**63 - 1


def is_valid_id(value: object) -> bool:
    """An int that can be a primary key (a bool is an int to Python, but never an id)."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_ID


def parse_id(value: object) -> int | None:
    """The id written in `value` (ASCII digits only, no sign or spaces), or None."""
    if isinstance(value, int):
        return value if is_valid_id(value) else None
    if not isinstance(value, str) or not value.isascii() or not value.isdigit() or len(value) > len(str(MAX_ID)):
        return None
    number = int(value)
    return number if is_valid_id(number) else None


class IdPathConverter:
    """`<id:name>` in a URL: a primary key, as `<id:name>` but refusing what no row can have. An id
    past MAX_ID would reach a foreign-key lookup as an integer the database cannot hold (a 500 on
    SQLite); refused here, the path simply matches nothing (404)."""

    regex = "[0-9]{1,19}"

    def to_python(self, value: str) -> int:
        number = parse_id(value)
        if number is None:
            raise ValueError(value)
        return number

    def to_url(self, value: int) -> str:
        return str(value)
