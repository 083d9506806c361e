"""`manage.py expire_unpaid_orders`: release the stock of online orders whose payment never came."""

from django.conf import settings
from django.core.management.base import BaseCommand

from payments.services.expiry import orders_expire_unpaid


class Command(BaseCommand):
    help = (
        'Cancel online orders still awaiting payment after ORDER_PAYMENT_TIMEOUT_MINUTES (reason "payment not '
        'received"), putting their stock back on sale. Safe to run from cron every minute, beside itself, '
        "reconcile_payments and the webhooks."
    )

    def handle(self, *args, **options):
        expired = orders_expire_unpaid()
        self.stdout.write(
            f"Expired {expired} unpaid order{'s' if expired != 1 else ''} "
            f"(older than {settings.ORDER_PAYMENT_TIMEOUT_MINUTES} min)."
        )
