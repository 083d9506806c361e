"""CSV cells a spreadsheet shows as typed, never runs: the defence against CSV (formula) injection.

Titles, brands and store names are typed by sellers. A spreadsheet runs a cell that starts
with one of `FORMULA_STARTS` as a formula, so every export writes such a text cell behind a
leading apostrophe, and the product import takes that apostrophe off again, so a file exported
and imported back changes nothing.
"""

from datetime import date

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
TEXT_MARK = "'"


def _needs_mark(text: str) -> bool:
    # Apostrophes already in front count too, so that `csv_cell_unescape` can tell a mark it
    # must take off from an apostrophe the seller typed: "'=x" is written "''=x".
    return text.lstrip(TEXT_MARK).startswith(FORMULA_STARTS)


def csv_cell(value) -> str:
    """`value` as a CSV cell. Numbers and dates are never formulas; only text is escaped."""
    if isinstance(value, date):
        return value.isoformat()
    text = str(value)
    if isinstance(value, str) and _needs_mark(text):
        return TEXT_MARK + text
    return text


def csv_cell_unescape(text: str) -> str:
    """The text `csv_cell` was given: the apostrophe it put in front comes off, nothing else."""
    if text.startswith(TEXT_MARK) and _needs_mark(text[len(TEXT_MARK) :]):
        return text[len(TEXT_MARK) :]
    return text
