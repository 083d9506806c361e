"""Sentry, switched on by SENTRY_DSN in settings. Imported only then, so without it nothing changes."""

import sys

import sentry_sdk
from sentry_sdk.integrations.django import DjangoIntegration
from sentry_sdk.utils import BadDsn, Dsn


def sentry_start(*, dsn: str, release: str | None, environment: str | None, traces_sample_rate: str) -> None:
    """Start sentry_sdk for this process, or stop start-up with one line naming the bad variable."""
    try:
        Dsn(dsn)
    except BadDsn:
        sys.exit("ImproperlyConfigured: SENTRY_DSN is not a Sentry DSN (https://<key>@<host>/<project id>).")
    try:
        rate = float(traces_sample_rate)
    except ValueError:
        rate = -1.0
    if not 0 <= rate <= 1:
        sys.exit("ImproperlyConfigured: SENTRY_TRACES_SAMPLE_RATE must be a number from 0 to 1.")
    sentry_sdk.init(
        dsn=dsn,
        integrations=[DjangoIntegration()],
        release=release,
        environment=environment,
        traces_sample_rate=rate,
        # Shoppers' addresses, cookies, IPs and logged-in users stay here: an error report names the
        # code that failed, not the person. Request bodies (checkout forms, Razorpay's webhooks with
        # the payer's e-mail and phone) are never sent either.
        send_default_pii=False,
        max_request_body_size="never",
    )
