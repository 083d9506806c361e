"""`manage.py reconcile_payments`: ask the gateway about payments, captures and refunds whose webhooks never came."""

from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError

from payments.services import online, refund_reconcile

DEFAULT_OLDER_THAN_MINUTES = 10


class Command(BaseCommand):
    help = (
        "Read online payments (every pending one, and the others for RECONCILE_LOOKBACK_HOURS after their last "
        "change, at most every 15 minutes) and refunds still INITIATED or PROCESSING, older than "
        "--older-than-minutes, from the gateway, and apply what it says through the webhook services: every "
        "captured attempt is recorded in the capture ledger. Safe to run from cron every minute, beside itself "
        "and expire_unpaid_orders."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run", action="store_true", help="Only read: report what would change, and change nothing."
        )
        parser.add_argument(
            "--older-than-minutes",
            type=int,
            default=DEFAULT_OLDER_THAN_MINUTES,
            help=f"Leave alone what changed more recently than this (default {DEFAULT_OLDER_THAN_MINUTES}).",
        )

    def handle(self, *args, dry_run: bool, older_than_minutes: int, **options):
        if older_than_minutes < 0:
            raise CommandError("--older-than-minutes cannot be negative.")
        older_than = timedelta(minutes=older_than_minutes)
        payments = online.payments_reconcile(older_than=older_than, dry_run=dry_run)
        refund_counts = refund_reconcile.refunds_reconcile(older_than=older_than, dry_run=dry_run)
        prefix = "Dry run, nothing changed. " if dry_run else ""
        self.stdout.write(f"{prefix}Older than {older_than_minutes} min.")
        self.stdout.write(f"Payments: {self._summary(payments)}")
        self.stdout.write(f"Refunds: {self._summary(refund_counts)}")

    @staticmethod
    def _summary(counts: dict[str, int]) -> str:
        return ", ".join(f"{name.replace('_', ' ')} {value}" for name, value in counts.items()) or "nothing to do"
