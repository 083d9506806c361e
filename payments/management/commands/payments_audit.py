"""`manage.py payments_audit`: every gateway order and capture of a period, what became of each, and any capture
whose money is unaccounted for (exit status 1)."""

import sys
from datetime import date

from django.core.management.base import BaseCommand, CommandError

from payments.services.audit import DEFAULT_DAYS, Audit, AuditPeriod, CaptureReport, GatewayOrderReport, money
from payments.services.audit import payments_audit as audit_run

# Exit statuses: a cron wrapper or a monitor can tell "money unaccounted for" from "could not check everything".
UNACCOUNTED = 1
GATEWAY_UNREADABLE = 2


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"{value!r} is not a date: give YYYY-MM-DD.") from None


class Command(BaseCommand):
    help = (
        "Audit the capture ledger for a period (whole days in the shop's TIME_ZONE; by default yesterday and "
        "today): print every gateway order and every capture with what became of it (placed, refunded, refund "
        "pending, refund failed, flagged, resolved), list on stderr each capture whose money is unaccounted for, "
        "and exit 1 if there is one. --gateway also asks Razorpay for each gateway order's payments and reports "
        "captures JoyCart never recorded (exit 2 if Razorpay could not be asked about some). Reads only."
    )

    def add_arguments(self, parser):
        parser.add_argument("--since", type=_date, help="First day, YYYY-MM-DD (default: yesterday).")
        parser.add_argument("--until", type=_date, help="Last day, included, YYYY-MM-DD (default: today).")
        parser.add_argument(
            "--gateway", action="store_true", help="Also read each gateway order's payments from Razorpay."
        )

    def handle(self, *args, since: date | None, until: date | None, gateway: bool, **options):
        default = AuditPeriod.last_days(DEFAULT_DAYS)
        period = AuditPeriod(since=since or default.since, until=until or default.until)
        if period.since > period.until:
            raise CommandError(f"--since {period.since} is after --until {period.until}.")
        audit = audit_run(period=period, gateway=gateway)
        for order in audit.orders:
            self._order_lines(order)
        unaccounted, unreadable = audit.unaccounted(), audit.unreadable()
        for line in unaccounted:
            self.stderr.write(f"UNACCOUNTED {line}")
        for line in unreadable:
            self.stderr.write(f"NOT CHECKED {line}")
        self.stdout.write(self._summary(audit, unaccounted=len(unaccounted), unreadable=len(unreadable)))
        if unaccounted:
            sys.exit(UNACCOUNTED)
        if unreadable:
            sys.exit(GATEWAY_UNREADABLE)

    def _order_lines(self, order: GatewayOrderReport) -> None:
        head = f"{order.order_number}  {order.gateway_order_id}  {money(order.amount, order.currency)}"
        if not order.captures:
            self.stdout.write(f"{head}  no capture (payment {order.payment_status})")
        for capture in order.captures:
            self.stdout.write(f"{head}  {self._capture_line(capture)}")

    @staticmethod
    def _capture_line(capture: CaptureReport) -> str:
        line = f"{capture.gateway_payment_id}  {money(capture.amount, capture.currency)}  {capture.standing}"
        if capture.detail:
            line += f"  ({capture.detail})"
        return line + ("  UNACCOUNTED" if capture.problems else "")

    @staticmethod
    def _summary(audit: Audit, *, unaccounted: int, unreadable: int) -> str:
        counts = ", ".join(f"{standing} {count}" for standing, count in audit.counts().items())
        summary = (
            f"Payments audit {audit.period}: {len(audit.orders)} gateway orders, {len(audit.captures)} captures "
            f"({counts}); {unaccounted} unaccounted for"
        )
        if audit.gateway_read:
            summary += f"; gateway read for {len(audit.orders) - unreadable}, not for {unreadable}"
        return summary + "."
