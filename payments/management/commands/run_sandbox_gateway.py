"""`manage.py run_sandbox_gateway`: the Razorpay sandbox on its own, for development and demos."""

from urllib.parse import urlsplit

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from payments.sandbox import SandboxGateway


class Command(BaseCommand):
    help = (
        "Serve the Razorpay-compatible sandbox gateway on 127.0.0.1 with the settings' RAZORPAY_* credentials, "
        "delivering signed webhooks to --webhook-url. Faults: POST /_sandbox/control (see payments/sandbox)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=settings.SANDBOX_GATEWAY_PORT)
        parser.add_argument("--webhook-url", default=settings.SANDBOX_WEBHOOK_URL)

    def handle(self, *args, port: int, webhook_url: str, **options):
        if not settings.PAYMENTS_SANDBOX:
            raise CommandError("PAYMENTS_SANDBOX is off: real RAZORPAY_* keys are set, so the app uses Razorpay.")
        sandbox = SandboxGateway(
            settings.RAZORPAY_KEY_ID,
            settings.RAZORPAY_KEY_SECRET,
            settings.RAZORPAY_WEBHOOK_SECRET,
            webhook_url or None,
            port=port,
            allowed_callback_hosts=settings.ALLOWED_HOSTS,
        )
        try:
            sandbox.start()
        except OSError as exc:
            raise CommandError(f"cannot listen on 127.0.0.1:{port}: {exc.strerror or exc}") from exc
        self.stdout.write(f"Razorpay sandbox gateway on {sandbox.base_url} (key id {settings.RAZORPAY_KEY_ID})")
        self.stdout.write(f"Webhooks go to {webhook_url or 'nowhere (no --webhook-url)'}")
        if urlsplit(settings.RAZORPAY_BASE_URL).port != sandbox.port:
            self.stderr.write(
                f"Note: the app's RAZORPAY_BASE_URL is {settings.RAZORPAY_BASE_URL}, not this sandbox's port."
            )
        self.stdout.write("Quit with CONTROL-C.")
        try:
            sandbox.serve_forever()
        except KeyboardInterrupt:
            self.stdout.write("Sandbox gateway stopped.")
