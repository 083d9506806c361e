"""`manage.py approve_stale_returns`: approve the return requests sellers left unanswered, and finish returns
whose refund is already final."""

from django.conf import settings
from django.core.management.base import BaseCommand

from orders.services.returns import returns_auto_approve, returns_complete_settled


def _count(count: int, noun: str) -> str:
    return f"{count} {noun}{'s' if count != 1 else ''}"


class Command(BaseCommand):
    help = (
        "Approve every return request its seller left unanswered for RETURN_SELLER_SLA_DAYS (the seller and the "
        "buyer are mailed), and mark RETURNED the received items whose refund is already REFUNDED (should the "
        "refund webhook's task have been lost). Safe to run from cron every hour, beside itself and the sellers."
    )

    def handle(self, *args, **options):
        approved = returns_auto_approve()
        completed = returns_complete_settled()
        self.stdout.write(
            f"Approved {_count(approved, 'return request')} unanswered for "
            f"{_count(settings.RETURN_SELLER_SLA_DAYS, 'day')}; "
            f"completed {_count(completed, 'return')} whose refund was final."
        )
