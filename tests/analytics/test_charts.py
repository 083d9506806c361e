"""The chart geometry: pure functions, so the shapes are checked without a browser."""

from decimal import Decimal

import pytest

from analytics.charts import (
    COLUMN_HEIGHT,
    MARGIN_BOTTOM,
    MARGIN_TOP,
    MAX_DAY_LABELS,
    WIDTH,
    column_chart,
    nice_step,
    row_chart,
    short_number,
)
from joycart.money import format_inr

PLOT_BOTTOM = COLUMN_HEIGHT - MARGIN_BOTTOM
PLOT_HEIGHT = PLOT_BOTTOM - MARGIN_TOP


@pytest.mark.parametrize(
    ("value", "whole", "step"),
    [
        (0, False, 1),
        (Decimal("0.3"), False, Decimal("0.5")),
        (1, False, 1),
        (Decimal("1.1"), False, 2),
        (Decimal("2.2"), False, Decimal("2.5")),
        (Decimal("2.2"), True, 5),  # never "2.5 orders"
        (Decimal("0.75"), True, 1),
        (30, False, 50),
        (1234, False, 2000),
        (Decimal("24000.01"), False, 25000),
        (25000, True, 25000),  # 2.5 times 10,000 is a whole number
    ],
)
def test_nice_step(value, whole, step):
    assert nice_step(value, whole=whole) == step


@pytest.mark.parametrize(
    ("value", "text"),
    [(0, "0"), (950, "950"), (Decimal("12.50"), "12.50"), (1500, "1.5k"), (250000, "2.5L"), (12_000_000, "1.2Cr")],
)
def test_short_number_uses_indian_units(value, text):
    assert short_number(value) == text


def test_columns_scale_to_a_round_maximum_and_stand_on_the_baseline():
    chart = column_chart([("1 Dec", Decimal("300.00")), ("2 Dec", 0), ("3 Dec", Decimal("150.00"))], title="Revenue")

    # The largest value, 300, gets a step of 100 (300 / 4 → 75 → 100), so the axis tops out at 400.
    assert [line.label.label for line in chart.grid] == ["0", "100", "200", "300", "400"]
    tallest, empty, half = chart.bars
    assert tallest.height == pytest.approx(PLOT_HEIGHT * 3 / 4, abs=0.1)
    assert half.height == pytest.approx(tallest.height / 2, abs=0.1)
    assert empty.height == 0
    for bar in chart.bars:
        assert bar.y + bar.height == pytest.approx(PLOT_BOTTOM, abs=0.1)
    # Left to right, inside the plot, not overlapping.
    assert tallest.x < empty.x < half.x
    assert tallest.x + tallest.width < empty.x
    assert half.x + half.width <= WIDTH
    assert not chart.empty


def test_column_titles_and_summary_speak_in_the_callers_format():
    chart = column_chart(
        [("1 Dec", Decimal("1200.00")), ("2 Dec", Decimal("34000.50"))], title="GMV", fmt=format_inr, axis_prefix="₹"
    )
    assert chart.bars[1].label == "2 Dec"
    assert chart.bars[1].value_label == "₹34,000.50"
    assert chart.desc == "From 1 Dec to 2 Dec: total ₹35,200.50; highest ₹34,000.50 on 2 Dec."
    assert chart.grid[-1].label.label == "₹40k"


def test_thirty_days_get_at_most_eight_day_labels():
    chart = column_chart([(f"{day} Nov", day) for day in range(1, 31)], title="Days")
    assert len(chart.bars) == 30
    assert len(chart.labels) <= MAX_DAY_LABELS
    assert chart.labels[0].label == "1 Nov"


def test_a_period_without_data_is_flat_and_says_so():
    chart = column_chart([("1 Dec", 0), ("2 Dec", 0)], title="Revenue")
    assert chart.empty
    assert all(bar.height == 0 for bar in chart.bars)
    assert chart.desc == "No data for this period."
    assert column_chart([], title="Nothing").bars == ()


def test_rows_are_as_long_as_their_share_of_the_largest():
    chart = row_chart([("Placed", 4), ("Cancelled", 1), ("Completed", 0)], title="Orders by status")
    placed, cancelled, completed = chart.bars
    assert cancelled.width == pytest.approx(placed.width / 4, abs=0.1)
    assert completed.width == 0
    assert placed.y < cancelled.y < completed.y
    assert [tick.label for tick in chart.labels] == ["Placed", "Cancelled", "Completed"]
    assert [tick.label for tick in chart.values] == ["4", "1", "0"]
    assert chart.desc == "Placed: 4; Cancelled: 1; Completed: 0. Total 5."
    assert max(tick.x for tick in chart.values) < WIDTH
