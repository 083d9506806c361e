"""The seller dashboard (/seller/) and the admin analytics page (/admin/analytics/, mounted by
`joycart.admin_site`). Views check who asks, read through the selectors and hand numbers to
`analytics.charts`; the templates draw the SVG."""

from datetime import date

from django.shortcuts import render

from accounts.decorators import seller_required
from analytics import selectors
from analytics.charts import column_chart, row_chart
from analytics.forms import DateRangeForm
from analytics.tables import analytics_tables, csv_response
from catalog.models import LOW_STOCK_THRESHOLD
from joycart.money import format_inr


def day_label(day: date) -> str:
    return f"{day.day} {day:%b}"


def count_label(value) -> str:
    return f"{value:,}"


@seller_required
def seller_dashboard(request):
    store = request.user.store
    dashboard = selectors.seller_dashboard(store=store)
    chart = column_chart(
        [(day_label(figure.day), figure.revenue) for figure in dashboard.revenue_by_day],
        title=f"Revenue per day, last {selectors.DASHBOARD_DAYS} days",
        fmt=format_inr,
        axis_prefix="₹",
    )
    context = {"store": store, "dashboard": dashboard, "chart": chart, "low_stock_threshold": LOW_STOCK_THRESHOLD}
    return render(request, "seller/dashboard.html", context)


def _charts(data: selectors.ShopAnalytics) -> dict:
    rate = f"{data.refund_rate}%" if data.refund_rate is not None else "no online captures"
    return {
        "gmv": column_chart(
            [(day_label(figure.day), figure.revenue) for figure in data.gmv_by_day],
            title="GMV per day",
            fmt=format_inr,
            axis_prefix="₹",
        ),
        "status": row_chart(data.orders_by_status, title="Orders by status", fmt=count_label),
        "payment": row_chart(
            [(label, amount) for label, _orders, amount in data.payment_split],
            title="GMV by payment method",
            fmt=format_inr,
        ),
        "refunds": column_chart(
            [(day_label(day.day), day.amount) for day in data.refunds_by_day],
            title=f"Refunded amount per day (refund rate {rate})",
            fmt=format_inr,
            axis_prefix="₹",
        ),
        "users": column_chart(
            [(day_label(day), count) for day, count in data.new_users_by_day],
            title="New users per day",
            fmt=count_label,
            whole=True,
        ),
    }


def analytics_page(request, *, site):
    """Staff only: `site.admin_view` sends everyone else to the admin login before this runs."""
    form = DateRangeForm(request.GET, today=selectors.shop_today())
    context = {**site.each_context(request), "title": "Analytics", "form": form}
    if not form.is_valid():
        return render(request, "admin/analytics/index.html", context, status=400)
    start, end = form.cleaned_data["start"], form.cleaned_data["end"]
    context["form"] = DateRangeForm(initial={"start": start, "end": end}, today=form.today)  # show the range used
    data = selectors.shop_analytics(start=start, end=end)
    tables = analytics_tables(data)
    export = request.GET.get("export")
    if export is not None:
        if export not in tables:
            context["export_error"] = f"There is no table named “{export}” to export."
            return render(request, "admin/analytics/index.html", context, status=400)
        return csv_response(tables[export], start=start, end=end)
    charts = _charts(data)
    sections = [(charts[slug], tables[slug]) for slug in charts]
    context |= {"data": data, "sections": sections, "tables": tables}
    return render(request, "admin/analytics/index.html", context)
