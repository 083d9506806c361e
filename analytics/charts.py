"""Chart geometry for server-rendered SVG: numbers in, rectangles and labels out.

Pure (no Django, no database), so the shapes are unit-tested on their own. The template
(`templates/partials/svg_chart.html`) only draws what this module measured. Colours come from
CSS classes, never inline styles, because the Content-Security-Policy forbids those.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal

Number = Decimal | int

# Viewbox units; the SVG scales to its container's width.
WIDTH = 640
COLUMN_HEIGHT = 240
ROW_HEIGHT = 28
MARGIN_LEFT = 56  # room for the value axis labels
MARGIN_RIGHT = 12
MARGIN_TOP = 12
MARGIN_BOTTOM = 28  # room for the day labels
ROW_LABEL_WIDTH = 150  # bar charts: the category names
GRID_LINES = 4
MAX_DAY_LABELS = 8  # more would overlap at the width of a phone


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str  # what the bar is (a day, a status)
    value_label: str  # its value, formatted


@dataclass(frozen=True)
class Tick:
    x: float
    y: float
    label: str


@dataclass(frozen=True)
class GridLine:
    x1: float
    y1: float
    x2: float
    y2: float
    label: Tick


@dataclass(frozen=True)
class Chart:
    kind: str  # "columns" (values over time) or "rows" (values per category)
    width: int
    height: int
    title: str
    desc: str  # the screen reader's summary
    bars: tuple[Bar, ...]
    grid: tuple[GridLine, ...]
    labels: tuple[Tick, ...]  # day labels under the columns, or category names beside the rows
    values: tuple[Tick, ...]  # rows only: each row's value after its bar
    empty: bool


def nice_step(value: Number, *, whole: bool = False) -> Decimal:
    """The smallest of 1, 2, 2.5 and 5 times a power of ten that is at least `value`: a round axis step.
    `whole` (counts): never below 1 and never 2.5 (below 10), so no axis reads "2.5 orders"."""
    value = Decimal(value)
    if value <= 0 or (whole and value <= 1):
        return Decimal(1)
    magnitude = Decimal(10) ** value.adjusted()
    factors = (1, 2, 5, 10) if whole and magnitude == 1 else (1, 2, Decimal("2.5"), 5, 10)
    for factor in factors:
        if value <= factor * magnitude:
            return (factor * magnitude).normalize()
    raise AssertionError("unreachable: ten times the magnitude always covers value")  # pragma: no cover


def short_number(value: Number) -> str:
    """Axis labels in the Indian way: 950, 1.5k, 2.5L (lakh), 1.2Cr (crore)."""
    value = Decimal(value)
    for size, suffix in ((Decimal(10_000_000), "Cr"), (Decimal(100_000), "L"), (Decimal(1_000), "k")):
        if abs(value) >= size:
            scaled = (value / size).quantize(Decimal("0.1")).normalize()
            return f"{scaled:f}{suffix}"
    return f"{value.normalize():f}" if value == value.to_integral_value() else f"{value:.2f}"


def _round(value: float) -> float:
    return round(value, 1)


def _summary(points: Sequence[tuple[str, Number]], fmt: Callable[[Number], str]) -> str:
    if not points or not any(value for _label, value in points):
        return "No data for this period."
    total = sum((Decimal(value) for _label, value in points), Decimal(0))
    best_label, best = max(points, key=lambda point: point[1])
    return f"From {points[0][0]} to {points[-1][0]}: total {fmt(total)}; highest {fmt(best)} on {best_label}."


def column_chart(
    points: Sequence[tuple[str, Number]],
    *,
    title: str,
    fmt: Callable[[Number], str] = str,
    axis_prefix: str = "",
    whole: bool = False,
    height: int = COLUMN_HEIGHT,
) -> Chart:
    """One column per point (a day), on a value axis from 0 to a round maximum with grid lines."""
    plot_left, plot_right = MARGIN_LEFT, WIDTH - MARGIN_RIGHT
    plot_top, plot_bottom = MARGIN_TOP, height - MARGIN_BOTTOM
    plot_height = plot_bottom - plot_top
    step_value = nice_step(Decimal(max((value for _label, value in points), default=0)) / GRID_LINES, whole=whole)
    top = step_value * GRID_LINES
    slot = (plot_right - plot_left) / max(len(points), 1)
    gap = min(slot * 0.2, 4)

    bars = []
    for index, (label, value) in enumerate(points):
        bar_height = float(Decimal(value) / top) * plot_height
        bars.append(
            Bar(
                x=_round(plot_left + index * slot + gap / 2),
                y=_round(plot_bottom - bar_height),
                width=_round(slot - gap),
                height=_round(bar_height),
                label=label,
                value_label=fmt(value),
            )
        )
    grid = []
    for step in range(GRID_LINES + 1):
        y = _round(plot_bottom - plot_height * step / GRID_LINES)
        tick_value = step_value * step
        grid.append(
            GridLine(plot_left, y, plot_right, y, Tick(plot_left - 6, y + 4, axis_prefix + short_number(tick_value)))
        )
    every = max(1, -(-len(points) // MAX_DAY_LABELS))  # ceiling division
    labels = tuple(
        Tick(_round(plot_left + (index + 0.5) * slot), height - 8, label)
        for index, (label, _value) in enumerate(points)
        if index % every == 0
    )
    return Chart(
        kind="columns",
        width=WIDTH,
        height=height,
        title=title,
        desc=_summary(points, fmt),
        bars=tuple(bars),
        grid=tuple(grid),
        labels=labels,
        values=(),
        empty=not any(value for _label, value in points),
    )


def row_chart(points: Sequence[tuple[str, Number]], *, title: str, fmt: Callable[[Number], str] = str) -> Chart:
    """One horizontal bar per category, longest for the largest value, its value written after it."""
    height = MARGIN_TOP * 2 + ROW_HEIGHT * max(len(points), 1)
    plot_left = ROW_LABEL_WIDTH
    plot_width = WIDTH - plot_left - 90  # room after the longest bar for its value
    top = max((Decimal(value) for _label, value in points), default=Decimal(0)) or Decimal(1)
    bars, labels, values = [], [], []
    for index, (label, value) in enumerate(points):
        y = MARGIN_TOP + index * ROW_HEIGHT
        width = float(Decimal(value) / top) * plot_width
        bars.append(Bar(plot_left, y + 4, _round(width), ROW_HEIGHT - 8, label, fmt(value)))
        labels.append(Tick(plot_left - 8, y + ROW_HEIGHT / 2 + 4, label))
        values.append(Tick(_round(plot_left + width + 6), y + ROW_HEIGHT / 2 + 4, fmt(value)))
    total = sum((Decimal(value) for _label, value in points), Decimal(0))
    desc = (
        "; ".join(f"{label}: {fmt(value)}" for label, value in points) + f". Total {fmt(total)}."
        if total
        else "No data for this period."
    )
    return Chart(
        kind="rows",
        width=WIDTH,
        height=height,
        title=title,
        desc=desc,
        bars=tuple(bars),
        grid=(),
        labels=tuple(labels),
        values=tuple(values),
        empty=not total,
    )
