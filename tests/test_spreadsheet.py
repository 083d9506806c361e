"""CSV cells a spreadsheet never runs as a formula, and the import's way back to the typed text."""

from datetime import date
from decimal import Decimal

import pytest

from joycart.spreadsheet import FORMULA_STARTS, csv_cell, csv_cell_unescape

TRICKY = [
    '=HYPERLINK("http://evil.example","Click")',
    "-5 off",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "+91",
    "\tindented",
    "\rreturn",
    "'=already marked",
    "''=twice",
    "'plain apostrophe",
    "'",
    "",
    "Silk saree",
]


@pytest.mark.parametrize("start", FORMULA_STARTS)
def test_text_a_spreadsheet_would_run_as_a_formula_is_written_as_text(start):
    assert csv_cell(f"{start}1+1") == f"'{start}1+1"


@pytest.mark.parametrize("text", TRICKY)
def test_the_import_reads_back_exactly_what_the_export_was_given(text):
    assert csv_cell_unescape(csv_cell(text)) == text


def test_numbers_and_dates_are_never_marked():
    assert [csv_cell(value) for value in (Decimal("-5.00"), -3, date(2026, 1, 2))] == ["-5.00", "-3", "2026-01-02"]


def test_a_typed_apostrophe_without_a_formula_after_it_is_kept():
    assert csv_cell_unescape("'plain") == "'plain"
