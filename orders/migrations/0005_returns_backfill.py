from django.db import migrations
from django.db.models import Max, OuterRef, Subquery

DEFAULT_RETURN_WINDOW_DAYS = 7  # catalog.models.DEFAULT_RETURN_WINDOW_DAYS when this was written


def items_backfill(apps, schema_editor):
    """Items delivered before returns existed: delivered when their timeline says, and returnable under
    their category's window as it is now (every category inherits the default)."""
    OrderItem = apps.get_model("orders", "OrderItem")
    OrderEvent = apps.get_model("orders", "OrderEvent")
    Category = apps.get_model("catalog", "Category")
    delivered = (
        OrderEvent.objects.filter(item_id=OuterRef("pk"), to_status="DELIVERED")
        .values("item_id")
        .annotate(at=Max("created_at"))
        .values("at")
    )
    OrderItem.objects.filter(status="DELIVERED", delivered_at__isnull=True).update(delivered_at=Subquery(delivered))
    windows = {}
    for category in Category.objects.select_related("parent"):
        own, parents = category.return_window_days, category.parent.return_window_days if category.parent else None
        windows[category.pk] = own if own is not None else parents if parents is not None else DEFAULT_RETURN_WINDOW_DAYS
    for category_id, days in windows.items():
        OrderItem.objects.filter(product__category_id=category_id).update(return_window_days=days)


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0004_returns"),
        ("catalog", "0007_category_return_window_days"),
    ]

    operations = [migrations.RunPython(items_backfill, migrations.RunPython.noop)]
