"""`manage.py expire_unpaid_orders`: release the stock of online orders whose payment never came."""

from django.conf import settings
from django.core.management.base import BaseCommand

from payments.services.expiry import orders_expire_unpaid


def _orders(count: int) -> str:
    return f"{count} unpaid order{'s' if count != 1 else ''}"


class Command(BaseCommand):
    help = (
        'Cancel online orders still awaiting payment after ORDER_PAYMENT_TIMEOUT_MINUTES (reason "payment not '
        'received"), putting their stock back on sale, once Razorpay says it holds no capture for them. An order '
        "Razorpay cannot be asked about waits for the next run, until ORDER_PAYMENT_HARD_TIMEOUT_MINUTES. Safe to "
        "run from cron every minute, beside itself, reconcile_payments and the webhooks."
    )

    def handle(self, *args, **options):
        counts = orders_expire_unpaid()
        self.stdout.write(
            f"Expired {_orders(counts['expired'])} (older than {settings.ORDER_PAYMENT_TIMEOUT_MINUTES} min); "
            f"{counts['captured']} paid at the last moment; "
            f"{counts['deferred']} deferred (Razorpay unreachable, asked again next run)."
        )
