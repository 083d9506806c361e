"""The table behind each admin chart: shown under the chart, and exported as CSV (`?export=<slug>`)."""

import csv
from dataclasses import dataclass
from datetime import date

from django.http import HttpResponse

from analytics.selectors import ShopAnalytics
from joycart.spreadsheet import csv_cell


@dataclass(frozen=True)
class Table:
    slug: str
    title: str
    headers: tuple[str, ...]
    rows: list[tuple]


def analytics_tables(data: ShopAnalytics) -> dict[str, Table]:
    tables = [
        Table(
            "gmv",
            "GMV per day",
            ("Day", "Orders", "GMV (INR)"),
            [(figure.day, figure.orders, figure.revenue) for figure in data.gmv_by_day],
        ),
        Table("status", "Orders by status", ("Status", "Orders"), list(data.orders_by_status)),
        Table("payment", "Cash on Delivery and online", ("Payment method", "Orders", "GMV (INR)"), data.payment_split),
        Table(
            "refunds",
            "Refunds per day",
            ("Day", "Refunds", "Amount (INR)"),
            [(day.day, day.refunds, day.amount) for day in data.refunds_by_day],
        ),
        Table("users", "New users per day", ("Day", "New users"), list(data.new_users_by_day)),
        Table(
            "sellers",
            "Top sellers",
            ("Store", "Orders", "Units", "Revenue (INR)"),
            [(row["seller__name"], row["orders"], row["units"], row["revenue"]) for row in data.top_sellers],
        ),
        Table(
            "products",
            "Top products",
            ("Product", "Store", "Units", "Revenue (INR)"),
            [(row["product__title"], row["seller__name"], row["units"], row["revenue"]) for row in data.top_products],
        ),
    ]
    return {table.slug: table for table in tables}


def csv_response(table: Table, *, start: date, end: date) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="joycart-{table.slug}-{start}-to-{end}.csv"'
    writer = csv.writer(response)
    writer.writerow(table.headers)
    writer.writerows([csv_cell(value) for value in row] for row in table.rows)
    return response
