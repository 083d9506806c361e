"""seed_demo's sales history: a month of demo sales for the dashboards, placed once."""

from datetime import timedelta

import pytest
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from accounts.models import Store
from analytics.demo import HISTORY_DAYS, history_orders
from analytics.selectors import day_start, seller_dashboard, shop_today
from catalog.demo import LOW_STOCK_COUNT, OUT_OF_STOCK_COUNT, PRIYA, RAVI
from catalog.models import Product
from orders.models import Order, OrderItemStatus


def history() -> list[tuple]:
    return list(
        Order.objects.filter(idempotency_key__startswith="demo-history-")
        .order_by("pk")
        .values_list("pk", "idempotency_key", "created_at", "items__status")
    )


def test_the_history_is_the_same_list_on_every_run():
    specs = history_orders()
    assert specs == history_orders()
    assert 30 <= len(specs) <= 60
    assert {spec.lines[0].seller for spec in specs} == {PRIYA, RAVI}
    assert len({spec.days_ago for spec in specs}) >= 20, "spread over the month"
    assert max(spec.days_ago for spec in specs) < HISTORY_DAYS


@pytest.mark.django_db(transaction=True)  # committed for real, so every after-commit mail would go out
def test_seed_demo_gives_the_demo_sellers_a_month_of_sales_once(capsys, media_root):
    call_command("seed_demo")
    assert mail.outbox == []
    assert "Skipped demo history" not in capsys.readouterr().out
    first = history()
    assert len(first) == len(history_orders())

    call_command("seed_demo")
    assert history() == first, "a second run places, moves and re-dates nothing"

    today = shop_today()
    days = {(today - timezone.localdate(created_at)).days for _pk, _key, created_at, _status in first}
    assert min(days) >= 0 and max(days) < HISTORY_DAYS
    assert len(days) >= 20
    for username in (PRIYA, RAVI):
        dashboard = seller_dashboard(store=Store.objects.get(user__username=username))
        sold_days = [figure for figure in dashboard.revenue_by_day if figure.revenue]
        assert len(sold_days) >= 8, f"{username}'s chart looks alive"
        assert dashboard.top_products
    # Older orders are done; the newest still wait for the seller.
    five_days_ago = day_start(today - timedelta(days=4))
    statuses = {status for _pk, _key, created_at, status in first if created_at < five_days_ago}
    assert statuses <= {OrderItemStatus.DELIVERED, OrderItemStatus.CANCELLED}
    # The history sells only from deep shelves: the catalog's low and sold-out counts stay as designed.
    assert Product.objects.filter(stock__gte=1, stock__lte=5).count() == LOW_STOCK_COUNT
    assert Product.objects.filter(stock=0).count() == OUT_OF_STOCK_COUNT
