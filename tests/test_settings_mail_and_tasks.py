"""EMAIL_URL picks the mail backend, and DJANGO_TASKS_BACKEND (or DEBUG) the task queue."""

import json

import pytest

from tests.test_settings import PRODUCTION, RAZORPAY_KEYS, manage

PRINT_MAILER = "import json; from django.conf import settings; print(json.dumps(settings.MAILERS['default']))"
PRINT_TASKS = "from django.conf import settings; print(settings.TASKS['default']['BACKEND'])"


@pytest.mark.parametrize(
    ("url", "backend"),
    [
        ("console://", "django.core.mail.backends.console.EmailBackend"),
        ("dummy://", "django.core.mail.backends.dummy.EmailBackend"),
        ("memory://", "django.core.mail.backends.locmem.EmailBackend"),
    ],
)
def test_a_non_smtp_email_url_gets_a_backend_without_smtp_options(url, backend):
    result = manage(
        "shell",
        "--no-imports",
        "-c",
        PRINT_MAILER + "; from django.core.mail import mailers; mailers['default']",
        EMAIL_URL=url,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"BACKEND": backend}


def test_an_smtp_email_url_carries_its_connection_options():
    result = manage(
        "shell", "--no-imports", "-c", PRINT_MAILER, EMAIL_URL="submission://mailer:pw@smtp.example.com:587"
    )
    mailer = json.loads(result.stdout)
    assert mailer["BACKEND"] == "django.core.mail.backends.smtp.EmailBackend"
    assert mailer["OPTIONS"]["host"] == "smtp.example.com"
    assert mailer["OPTIONS"]["port"] == 587
    assert mailer["OPTIONS"]["use_tls"] is True


def test_an_email_url_with_an_unknown_scheme_stops_with_the_variable_name():
    result = manage("check", EMAIL_URL="smtp+tls://mailer:pw@smtp.example.com:587")
    assert result.returncode != 0
    assert "EMAIL_URL" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_tasks_run_at_once_in_development_and_queue_in_the_database_in_production():
    assert manage("shell", "--no-imports", "-c", PRINT_TASKS).stdout.strip().endswith("ImmediateBackend")
    production = manage("shell", "--no-imports", "-c", PRINT_TASKS, **PRODUCTION, **RAZORPAY_KEYS)
    assert production.stdout.strip() == "django_tasks_db.DatabaseBackend", production.stderr
    forced = manage("shell", "--no-imports", "-c", PRINT_TASKS, DJANGO_TASKS_BACKEND="database")
    assert forced.stdout.strip() == "django_tasks_db.DatabaseBackend"


def test_an_unknown_tasks_backend_stops_with_the_variable_name():
    result = manage("check", DJANGO_TASKS_BACKEND="celery")
    assert result.returncode != 0
    assert "DJANGO_TASKS_BACKEND" in result.stderr
