"""`manage.py replay_webhooks`: process stored Razorpay webhooks again through the same handlers."""

from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError

from joycart.errors import NotFound
from payments.services.webhooks import webhooks_replay


class Command(BaseCommand):
    help = (
        "Process stored webhook events again: by default every event not processed yet (PENDING or FAILED; "
        "--pending-minutes N leaves alone the PENDING ones received in the last N minutes, which the worker "
        "is about to process); "
        "--failed only the FAILED ones; --event-id one event, whatever its outcome. Handlers only move state "
        "forward, so replaying an event that was applied changes nothing."
    )

    def add_arguments(self, parser):
        which = parser.add_mutually_exclusive_group()
        which.add_argument("--event-id", help="The X-Razorpay-Event-Id of one stored event.")
        which.add_argument("--failed", action="store_true", help="Only the events whose processing failed.")
        parser.add_argument(
            "--pending-minutes",
            type=int,
            default=0,
            help="Without --event-id or --failed: take PENDING events only once they are this old (cron: 5).",
        )

    def handle(self, *args, event_id: str | None, failed: bool, pending_minutes: int, **options):
        if pending_minutes < 0:
            raise CommandError("--pending-minutes cannot be negative.")
        try:
            counts = webhooks_replay(
                event_id=event_id, failed_only=failed, pending_for=timedelta(minutes=pending_minutes)
            )
        except NotFound as exc:
            raise CommandError(exc.message) from exc
        summary = ", ".join(f"{name} {count}" for name, count in counts.items() if name != "replayed")
        self.stdout.write(f"Replayed {counts['replayed']} event(s): {summary}.")
        if counts.get("failed"):
            self.stderr.write("Some events failed again; see their detail in the admin (Webhook events).")
