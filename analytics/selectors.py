"""Reads behind the seller dashboard and the admin analytics.

Everything is aggregated in the database (GROUP BY day, status, seller), so each figure costs one
query however many orders there are; Python only fills the days that had no rows with zeros.
Days are the shop's days (settings.TIME_ZONE, Asia/Kolkata): an order placed at 23:50 IST on the
1st counts on the 1st, although it is the 1st at 18:20 UTC.

"Sold" means an item the buyer owes or paid for: PLACED, CONFIRMED, SHIPPED or DELIVERED, and a
delivered item while its return is only asked for, approved, refused or escalated (the buyer still has
it). Items awaiting an online payment are not sales yet, cancelled items never were, and an item the
seller has received back (RETURN_RECEIVED, RETURNED) is no longer one. A sale counts on the day its
order was placed.

Returns are counted the same way, on the order's day: of the items delivered (DELIVERED or any later
status), those a return was asked for (any RETURN_* status or RETURNED, refused ones included); the
return rate is the one over the other.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db.models import Count, DecimalField, ExpressionWrapper, F, Q, QuerySet, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from accounts.models import Store, User
from catalog.models import LOW_STOCK_THRESHOLD, MONEY, ProductVariant, variant_label
from joycart.money import PAISA
from orders.models import (
    DELIVERED_STATUSES,
    RETURN_STATUSES,
    Order,
    OrderItem,
    OrderItemStatus,
    OrderStatus,
    PaymentMethod,
)
from orders.selectors import seller_order_item_counts
from payments.models import Payment, Refund, RefundStatus

SOLD = (
    OrderItemStatus.PLACED,
    OrderItemStatus.CONFIRMED,
    OrderItemStatus.SHIPPED,
    OrderItemStatus.DELIVERED,
    OrderItemStatus.RETURN_REQUESTED,
    OrderItemStatus.RETURN_APPROVED,
    OrderItemStatus.RETURN_REJECTED,
    OrderItemStatus.RETURN_ESCALATED,
)
LINE_TOTAL = ExpressionWrapper(F("unit_price") * F("quantity"), output_field=DecimalField(**MONEY))
DASHBOARD_DAYS = 30
LOW_STOCK_SHOWN = 8
TOP_PRODUCTS_SHOWN = 5
TOP_ROWS = 10  # admin tables
ZERO = Decimal("0.00")


def shop_timezone():
    return timezone.get_default_timezone()


def shop_today(now: datetime | None = None) -> date:
    return timezone.localdate(now or timezone.now(), shop_timezone())


def day_start(day: date) -> datetime:
    """Midnight at the start of `day` in the shop's time zone, as an aware datetime."""
    return datetime.combine(day, time.min, tzinfo=shop_timezone())


def days_between(start: date, end: date) -> list[date]:
    return [start + timedelta(days=offset) for offset in range((end - start).days + 1)]


def _sold_items(start: date, end: date) -> QuerySet[OrderItem]:
    """Sold items of orders placed from `start` to `end`, both included (shop days)."""
    return OrderItem.objects.filter(
        status__in=SOLD,
        order__created_at__gte=day_start(start),
        order__created_at__lt=day_start(end + timedelta(days=1)),
    )


def return_rate(*, returns: int, delivered: int) -> Decimal | None:
    """Returns ÷ delivered items, as a percentage with one decimal; None when nothing was delivered."""
    if not delivered:
        return None
    return (Decimal(returns) * 100 / delivered).quantize(Decimal("0.1"))


def _by_order_day(items: QuerySet[OrderItem]) -> QuerySet:
    """Revenue and distinct orders per shop day; an order has one day, so orders add up across days."""
    return (
        items.annotate(day=TruncDate("order__created_at", tzinfo=shop_timezone()))
        .values("day")
        .annotate(revenue=Sum(LINE_TOTAL), orders=Count("order_id", distinct=True))
        .order_by("day")
    )


def _money(value) -> Decimal:
    """Sums come back as 1350 from SQLite and 1350.00 from PostgreSQL; show and export paise on both."""
    return (value or ZERO).quantize(PAISA)


def _money_rows(rows, *keys: str) -> list[dict]:
    return [{**row, **{key: _money(row[key]) for key in keys}} for row in rows]


def _as_date(value) -> date:
    # SQLite hands TruncDate back as a string on some versions; PostgreSQL as a date.
    return value if isinstance(value, date) else date.fromisoformat(str(value))


# --- The seller dashboard ---------------------------------------------------------------


@dataclass(frozen=True)
class PeriodFigures:
    label: str
    days: int
    revenue: Decimal
    orders: int
    refunds: int
    refunded: Decimal
    returns: int  # items of the period's orders a return was asked for
    delivered: int  # items of the period's orders that were delivered (returned or not)

    @property
    def return_rate(self) -> Decimal | None:
        return return_rate(returns=self.returns, delivered=self.delivered)


@dataclass(frozen=True)
class DayFigure:
    day: date
    revenue: Decimal
    orders: int


@dataclass(frozen=True)
class LowStockVariant:
    """One active variant of an active product at LOW_STOCK_THRESHOLD or fewer: "Kurta (Size: XL)", 2 left."""

    product_id: int
    title: str
    label: str  # "Size: XL"; blank for a product without options
    stock: int

    @property
    def name(self) -> str:
        return f"{self.title} ({self.label})" if self.label else self.title


@dataclass(frozen=True)
class SellerDashboard:
    today: date
    periods: list[PeriodFigures]
    to_confirm: int  # items PLACED, waiting for the seller to confirm
    to_ship: int  # items CONFIRMED, waiting to be shipped
    on_the_way: int  # items SHIPPED, waiting to be delivered
    returns_to_answer: int  # items RETURN_REQUESTED, waiting for the seller's decision
    returns_to_receive: int  # items RETURN_APPROVED, on their way back
    revenue_by_day: list[DayFigure]  # the last 30 days, oldest first, every day present
    low_stock: list[LowStockVariant]
    low_stock_count: int  # variants, not products: a kurta low in two sizes counts twice
    top_products: list[dict] = field(default_factory=list)


PERIODS = (("Today", 1), ("Last 7 days", 7), ("Last 30 days", DASHBOARD_DAYS))


def seller_dashboard(*, store: Store, now: datetime | None = None) -> SellerDashboard:
    """Everything on /seller/ for one store, in a fixed number of queries (eight)."""
    today = shop_today(now)
    first = today - timedelta(days=DASHBOARD_DAYS - 1)
    sold = _sold_items(first, today).filter(seller=store)

    rows = {_as_date(row["day"]): row for row in _by_order_day(sold)}
    by_day = [
        DayFigure(day, _money(rows[day]["revenue"]), rows[day]["orders"]) if day in rows else DayFigure(day, ZERO, 0)
        for day in days_between(first, today)
    ]

    # Refunds count on the day they were made (the item's cancellation); FAILED ones returned nothing.
    period_starts = {label: day_start(today - timedelta(days=days - 1)) for label, days in PERIODS}
    refund_totals = (
        Refund.objects.filter(order_item__seller=store, created_at__gte=period_starts[PERIODS[-1][0]])
        .exclude(status=RefundStatus.FAILED)
        .aggregate(
            **{f"count_{days}": Count("id", filter=Q(created_at__gte=period_starts[label])) for label, days in PERIODS},
            **{
                f"amount_{days}": Sum("amount", filter=Q(created_at__gte=period_starts[label]))
                for label, days in PERIODS
            },
        )
    )
    return_totals = _return_counts(
        OrderItem.objects.filter(seller=store, order__created_at__gte=period_starts[PERIODS[-1][0]]),
        {days: Q(order__created_at__gte=period_starts[label]) for label, days in PERIODS},
    )
    periods = []
    for label, days in PERIODS:
        window = by_day[-days:]
        periods.append(
            PeriodFigures(
                label=label,
                days=days,
                revenue=sum((figure.revenue for figure in window), ZERO),
                orders=sum(figure.orders for figure in window),
                refunds=refund_totals[f"count_{days}"],
                refunded=_money(refund_totals[f"amount_{days}"]),
                returns=return_totals[f"returns_{days}"],
                delivered=return_totals[f"delivered_{days}"],
            )
        )

    counts = seller_order_item_counts(store=store)
    # Stock is counted per variant: a kurta with plenty of M but two XL left is low in XL.
    low = ProductVariant.objects.filter(
        product__store=store, product__is_active=True, is_active=True, stock__lte=LOW_STOCK_THRESHOLD
    )
    top_products = _money_rows(
        sold.values("product_id", "product__title")
        .annotate(units=Sum("quantity"), revenue=Sum(LINE_TOTAL))
        .order_by("-revenue", "-units", "product_id")[:TOP_PRODUCTS_SHOWN],
        "revenue",
    )
    return SellerDashboard(
        today=today,
        periods=periods,
        to_confirm=counts.get(OrderItemStatus.PLACED, 0),
        to_ship=counts.get(OrderItemStatus.CONFIRMED, 0),
        on_the_way=counts.get(OrderItemStatus.SHIPPED, 0),
        returns_to_answer=counts.get(OrderItemStatus.RETURN_REQUESTED, 0),
        returns_to_receive=counts.get(OrderItemStatus.RETURN_APPROVED, 0),
        revenue_by_day=by_day,
        low_stock=_low_stock_lines(low.order_by("stock", "product__title", "id")[:LOW_STOCK_SHOWN]),
        low_stock_count=low.count(),
        top_products=top_products,
    )


def _return_counts(items: QuerySet[OrderItem], periods: dict[object, Q]) -> dict[str, int]:
    """`returns_<key>` and `delivered_<key>` for each period's filter, in one query."""
    delivered = items.filter(status__in=DELIVERED_STATUSES)
    return delivered.aggregate(
        **{f"delivered_{key}": Count("id", filter=condition) for key, condition in periods.items()},
        **{
            f"returns_{key}": Count("id", filter=condition & Q(status__in=RETURN_STATUSES))
            for key, condition in periods.items()
        },
    )


def _low_stock_lines(variants: QuerySet[ProductVariant]) -> list[LowStockVariant]:
    variants = variants.select_related("product").prefetch_related("product__options")
    return [
        LowStockVariant(
            product_id=variant.product_id,
            title=variant.product.title,
            label=variant_label(
                option_names=[option.name for option in variant.product.options.all()], variant=variant
            ),
            stock=variant.stock,
        )
        for variant in variants
    ]


# --- The admin analytics ----------------------------------------------------------------


@dataclass(frozen=True)
class RefundDay:
    day: date
    refunds: int
    amount: Decimal


@dataclass(frozen=True)
class ShopAnalytics:
    start: date
    end: date
    gmv_by_day: list[DayFigure]
    orders_by_status: list[tuple[str, int]]  # (label, orders), every status, in lifecycle order
    payment_split: list[tuple[str, int, Decimal]]  # (method label, orders, GMV)
    refunds_by_day: list[RefundDay]
    captured: Decimal  # online payments captured in the range
    refunded: Decimal  # of those, committed to refunds (every refund not FAILED)
    returns: int  # items of the range's orders a return was asked for
    delivered: int  # items of the range's orders that were delivered (returned or not)
    new_users_by_day: list[tuple[date, int]]
    top_sellers: list[dict]
    top_products: list[dict]

    @property
    def gmv(self) -> Decimal:
        return sum((figure.revenue for figure in self.gmv_by_day), ZERO)

    @property
    def orders(self) -> int:
        return sum(figure.orders for figure in self.gmv_by_day)

    @property
    def refund_rate(self) -> Decimal | None:
        """Refunded ÷ captured, as a percentage with one decimal; None when nothing was captured."""
        if not self.captured:
            return None
        return (self.refunded * 100 / self.captured).quantize(Decimal("0.1"))

    @property
    def return_rate(self) -> Decimal | None:
        """Returns ÷ delivered items, as a percentage with one decimal; None when nothing was delivered."""
        return return_rate(returns=self.returns, delivered=self.delivered)


def shop_analytics(*, start: date, end: date) -> ShopAnalytics:
    """The shop's numbers from `start` to `end` (shop days, both included), in nine queries."""
    days = days_between(start, end)
    since, until = day_start(start), day_start(end + timedelta(days=1))
    tz = shop_timezone()
    sold = _sold_items(start, end)

    gmv_rows = {_as_date(row["day"]): row for row in _by_order_day(sold)}
    gmv_by_day = [
        DayFigure(day, _money(gmv_rows[day]["revenue"]), gmv_rows[day]["orders"])
        if day in gmv_rows
        else DayFigure(day, ZERO, 0)
        for day in days
    ]

    status_counts = dict(
        Order.objects.filter(created_at__gte=since, created_at__lt=until)
        .values("status")
        .annotate(count=Count("id"))
        .order_by()
        .values_list("status", "count")
    )
    orders_by_status = [(status.label, status_counts.get(status.value, 0)) for status in OrderStatus]

    split_rows = {
        row["order__payment_method"]: row
        for row in sold.values("order__payment_method")
        .annotate(orders=Count("order_id", distinct=True), amount=Sum(LINE_TOTAL))
        .order_by()
    }
    payment_split = [
        (method.label, split_rows[method]["orders"], _money(split_rows[method]["amount"]))
        if method in split_rows
        else (method.label, 0, ZERO)
        for method in PaymentMethod
    ]

    refund_rows = {
        _as_date(row["day"]): row
        for row in Refund.objects.filter(created_at__gte=since, created_at__lt=until)
        .exclude(status=RefundStatus.FAILED)
        .annotate(day=TruncDate("created_at", tzinfo=tz))
        .values("day")
        .annotate(refunds=Count("id"), amount=Sum("amount"))
        .order_by("day")
    }
    refunds_by_day = [
        RefundDay(day, refund_rows[day]["refunds"], _money(refund_rows[day]["amount"]))
        if day in refund_rows
        else RefundDay(day, 0, ZERO)
        for day in days
    ]

    # The rate's cohort is the payments captured in the range, and what was refunded of them since.
    money = Payment.objects.filter(
        method=PaymentMethod.ONLINE, captured_at__gte=since, captured_at__lt=until
    ).aggregate(captured=Sum("captured_amount"), refunded=Sum("refunded_amount"))

    return_totals = _return_counts(
        OrderItem.objects.filter(order__created_at__gte=since, order__created_at__lt=until), {"range": Q()}
    )

    user_rows = dict(
        User.objects.filter(date_joined__gte=since, date_joined__lt=until)
        .annotate(day=TruncDate("date_joined", tzinfo=tz))
        .values("day")
        .annotate(count=Count("id"))
        .order_by("day")
        .values_list("day", "count")
    )
    user_rows = {_as_date(day): count for day, count in user_rows.items()}

    top_sellers = _money_rows(
        sold.values("seller_id", "seller__name")
        .annotate(orders=Count("order_id", distinct=True), units=Sum("quantity"), revenue=Sum(LINE_TOTAL))
        .order_by("-revenue", "seller_id")[:TOP_ROWS],
        "revenue",
    )
    top_products = _money_rows(
        sold.values("product_id", "product__title", "seller__name")
        .annotate(units=Sum("quantity"), revenue=Sum(LINE_TOTAL))
        .order_by("-revenue", "-units", "product_id")[:TOP_ROWS],
        "revenue",
    )
    return ShopAnalytics(
        start=start,
        end=end,
        gmv_by_day=gmv_by_day,
        orders_by_status=orders_by_status,
        payment_split=payment_split,
        refunds_by_day=refunds_by_day,
        captured=_money(money["captured"]),
        refunded=_money(money["refunded"]),
        returns=return_totals["returns_range"],
        delivered=return_totals["delivered_range"],
        new_users_by_day=[(day, user_rows.get(day, 0)) for day in days],
        top_sellers=top_sellers,
        top_products=top_products,
    )
