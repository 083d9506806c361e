"""Settings are read from the environment; production refuses to start without its secrets."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION_SECRET = "p" * 30 + "-Q7x!9zR2#kL4mN8vB6cX1jH5gF3dS0aW"
RAZORPAY_KEYS = {
    "RAZORPAY_KEY_ID": "rzp_live_productionkey",
    "RAZORPAY_KEY_SECRET": "production-key-secret",
    "RAZORPAY_WEBHOOK_SECRET": "production-webhook-secret",
}
# Production settings on one machine: uploads in DJANGO_MEDIA_ROOT (no Cloudinary in tests).
PRODUCTION = {
    "DJANGO_DEBUG": "0",
    "DJANGO_SECRET_KEY": PRODUCTION_SECRET,
    "DJANGO_ALLOWED_HOSTS": "example.com",
    "DJANGO_MEDIA_LOCAL": "1",
}


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    """manage.py in the development environment (DJANGO_DEBUG=1, as `make` sets it) plus `env`.

    `DJANGO_DEBUG=""` counts as unset, so it shows what a process started without it gets.
    """
    prefixes = (
        "DJANGO_", "DATABASE_URL", "DATABASE_REPLICA", "DATABASE_CONN", "REDIS_URL", "RAZORPAY_", "PAYMENTS_SANDBOX", "SANDBOX_", "JOYCART_",
        "CLOUDINARY_URL", "SENTRY_",
    )  # fmt: skip
    clean_env = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
    return subprocess.run(  # noqa: S603 - our own manage.py with fixed arguments
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean_env, "DJANGO_DEBUG": "1", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_debug_off_without_secret_key_stops_with_the_variable_name():
    result = manage("check", DJANGO_DEBUG="0", DJANGO_ALLOWED_HOSTS="example.com")
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_a_process_started_without_any_environment_stops_instead_of_serving_debug_pages():
    """DEBUG defaults to off: no debug pages signed with the repository's published development key."""
    result = manage("check", DJANGO_DEBUG="")
    assert result.returncode != 0
    assert result.stderr.strip() == (
        "ImproperlyConfigured: set the DJANGO_SECRET_KEY environment variable (required when DJANGO_DEBUG=0)."
    )


def test_the_development_server_turns_debug_on_by_itself():
    # Loading the settings without DEBUG and without a secret would stop as above.
    result = manage("runserver", "--help", DJANGO_DEBUG="")
    assert result.returncode == 0, result.stderr
    assert "Starts a lightweight web server" in result.stdout


def test_check_deploy_is_clean_under_production_settings():
    result = manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION, **RAZORPAY_KEYS)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)" in result.stdout


def test_no_system_check_is_silenced():
    assert not getattr(settings, "SILENCED_SYSTEM_CHECKS", [])


def test_argon2_is_the_first_password_hasher():
    from joycart import settings as project_settings

    assert project_settings.PASSWORD_HASHERS[0] == "django.contrib.auth.hashers.Argon2PasswordHasher"


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, "django.db.backends.sqlite3"),
        ({"DATABASE_URL": "postgres://u:p@db.example.com:5432/shop"}, "django.db.backends.postgresql"),
    ],
)
def test_database_comes_from_database_url(env, expected):
    code = "from django.conf import settings; print(settings.DATABASES['default']['ENGINE'])"
    result = manage("shell", "--no-imports", "-c", code, **env)
    assert result.stdout.strip() == expected, result.stderr


def test_redis_url_selects_the_redis_cache():
    code = "from django.conf import settings; print(settings.CACHES['default']['BACKEND'])"
    assert manage("shell", "--no-imports", "-c", code).stdout.strip().endswith("LocMemCache")
    redis = manage("shell", "--no-imports", "-c", code, REDIS_URL="redis://127.0.0.1:6379/3")
    assert redis.stdout.strip() == "django_redis.cache.RedisCache", redis.stderr


def test_collectstatic_works_with_cloudinary_configured_and_no_network(tmp_path):
    env = {
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": PRODUCTION_SECRET,
        "DJANGO_ALLOWED_HOSTS": "example.com",
        "CLOUDINARY_URL": "cloudinary://123456789012345:fake-secret@joycart-test",
        "DJANGO_STATIC_ROOT": str(tmp_path / "static"),
        **RAZORPAY_KEYS,
    }
    result = manage("collectstatic", "--noinput", **env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "static" / "css" / "joycart.css").exists()
    assert (tmp_path / "static" / "staticfiles.json").exists()  # whitenoise's manifest, not Cloudinary's

    storage = "from django.core.files.storage import storages; print(type(storages['default']).__name__)"
    assert manage("shell", "--no-imports", "-c", storage, **env).stdout.strip() == "MediaCloudinaryStorage"
    assert manage("shell", "--no-imports", "-c", storage).stdout.strip() == "FileSystemStorage"
    order = "from django.conf import settings as s; a = s.INSTALLED_APPS; print(a.index('cloudinary_storage') > a.index('django.contrib.staticfiles'))"
    assert manage("shell", "--no-imports", "-c", order, **env).stdout.strip() == "True"


PAYMENT_SETTINGS = (
    "from django.conf import settings as s; import json; print(json.dumps({n: getattr(s, n) for n in "
    "['PAYMENTS_SANDBOX', 'RAZORPAY_KEY_ID', 'RAZORPAY_KEY_SECRET', 'RAZORPAY_WEBHOOK_SECRET', "
    "'RAZORPAY_BASE_URL', 'RAZORPAY_TIMEOUT_SECONDS']}))"
)


def payment_settings(**env: str) -> dict:
    result = manage("shell", "--no-imports", "-c", PAYMENT_SETTINGS, **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_without_keys_the_development_default_is_the_sandbox_gateway():
    assert payment_settings() == {
        "PAYMENTS_SANDBOX": True,
        "RAZORPAY_KEY_ID": "rzp_test_sandbox",
        "RAZORPAY_KEY_SECRET": "sandbox-key-secret",
        "RAZORPAY_WEBHOOK_SECRET": "sandbox-webhook-secret",
        "RAZORPAY_BASE_URL": "http://127.0.0.1:8765",
        "RAZORPAY_TIMEOUT_SECONDS": 10.0,
    }
    moved = payment_settings(SANDBOX_GATEWAY_PORT="9911", RAZORPAY_TIMEOUT_SECONDS="2.5")
    assert (moved["RAZORPAY_BASE_URL"], moved["RAZORPAY_TIMEOUT_SECONDS"]) == ("http://127.0.0.1:9911", 2.5)


def test_real_keys_select_the_real_gateway():
    assert payment_settings(**PRODUCTION, **RAZORPAY_KEYS) == {
        "PAYMENTS_SANDBOX": False,
        **RAZORPAY_KEYS,
        "RAZORPAY_BASE_URL": "https://api.razorpay.com",
        "RAZORPAY_TIMEOUT_SECONDS": 10.0,
    }


def test_debug_off_without_keys_stops_naming_razorpay_key_id():
    result = manage("check", **PRODUCTION)
    assert result.returncode != 0
    assert "RAZORPAY_KEY_ID" in result.stderr
    assert "PAYMENTS_SANDBOX=1" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_debug_off_may_use_the_sandbox_only_when_asked_explicitly():
    configured = payment_settings(**PRODUCTION, PAYMENTS_SANDBOX="1", RAZORPAY_WEBHOOK_SECRET="a-demo-of-our-own")
    assert configured["PAYMENTS_SANDBOX"] is True
    assert configured["RAZORPAY_KEY_ID"] == "rzp_test_sandbox"
    assert configured["RAZORPAY_WEBHOOK_SECRET"] == "a-demo-of-our-own"
    assert configured["RAZORPAY_BASE_URL"] == "http://127.0.0.1:8765"


@pytest.mark.parametrize("webhook_secret", [None, "", "sandbox-webhook-secret"])
def test_a_public_sandbox_demo_refuses_the_published_webhook_secret_that_would_let_anyone_forge_captures(
    webhook_secret,
):
    env = {**PRODUCTION, "PAYMENTS_SANDBOX": "1"}
    if webhook_secret is not None:
        env["RAZORPAY_WEBHOOK_SECRET"] = webhook_secret
    result = manage("check", **env)
    assert result.returncode != 0
    assert "set the RAZORPAY_WEBHOOK_SECRET environment variable" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_the_development_sandbox_keeps_its_published_webhook_secret():
    assert payment_settings(PAYMENTS_SANDBOX="1")["RAZORPAY_WEBHOOK_SECRET"] == "sandbox-webhook-secret"


@pytest.mark.parametrize(
    ("env", "missing"),
    [
        ({"RAZORPAY_KEY_ID": "rzp_live_x"}, "RAZORPAY_KEY_SECRET"),
        ({"RAZORPAY_KEY_ID": "rzp_live_x", "RAZORPAY_KEY_SECRET": "s"}, "RAZORPAY_WEBHOOK_SECRET"),
        ({"RAZORPAY_KEY_SECRET": "s", "RAZORPAY_WEBHOOK_SECRET": "w"}, "RAZORPAY_KEY_ID"),
        ({"PAYMENTS_SANDBOX": "0"}, "RAZORPAY_KEY_ID"),
    ],
)
@pytest.mark.parametrize("debug", ["1", "0"])
def test_a_partial_set_of_keys_stops_naming_the_missing_one(env, missing, debug):
    result = manage("check", **{**PRODUCTION, "DJANGO_DEBUG": debug}, **env)
    assert result.returncode != 0
    assert f"set the {missing} environment variable" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_the_online_payment_timeout_comes_from_the_environment():
    code = "from django.conf import settings; print(settings.ORDER_PAYMENT_TIMEOUT_MINUTES)"
    assert settings.ORDER_PAYMENT_TIMEOUT_MINUTES == 15
    assert manage("shell", "--no-imports", "-c", code, ORDER_PAYMENT_TIMEOUT_MINUTES="30").stdout.strip() == "30"
    refused = manage("check", ORDER_PAYMENT_TIMEOUT_MINUTES="0")
    assert refused.returncode != 0 and "ORDER_PAYMENT_TIMEOUT_MINUTES" in refused.stderr


def test_the_hard_payment_timeout_comes_from_the_environment_and_is_never_shorter_than_the_timeout():
    code = "from django.conf import settings; print(settings.ORDER_PAYMENT_HARD_TIMEOUT_MINUTES)"
    assert settings.ORDER_PAYMENT_HARD_TIMEOUT_MINUTES == 60
    assert manage("shell", "--no-imports", "-c", code, ORDER_PAYMENT_HARD_TIMEOUT_MINUTES="90").stdout.strip() == "90"
    refused = manage("check", ORDER_PAYMENT_TIMEOUT_MINUTES="30", ORDER_PAYMENT_HARD_TIMEOUT_MINUTES="20")
    assert refused.returncode != 0
    assert "ORDER_PAYMENT_HARD_TIMEOUT_MINUTES must be a whole number of minutes, at least" in refused.stderr


STAFF_MAIL_SETTINGS = (
    "from django.conf import settings; print(','.join(settings.JOYCART_STAFF_EMAILS), settings.JOYCART_SITE_URL)"
)


def test_staff_alert_addresses_and_the_site_url_come_from_the_environment():
    shown = manage(
        "shell", "--no-imports", "-c", STAFF_MAIL_SETTINGS,
        JOYCART_STAFF_EMAILS="ops@joycart.test, cfo@joycart.test", JOYCART_SITE_URL="https://shop.example.com/",
    )  # fmt: skip
    assert shown.stdout.strip() == "ops@joycart.test,cfo@joycart.test https://shop.example.com", shown.stderr
    assert manage("shell", "--no-imports", "-c", STAFF_MAIL_SETTINGS).stdout.strip() == "http://127.0.0.1:8000"
    production = {**PRODUCTION, **RAZORPAY_KEYS, "DJANGO_ALLOWED_HOSTS": ".shop.example.com,localhost"}
    derived = manage("shell", "--no-imports", "-c", STAFF_MAIL_SETTINGS, **production)
    assert derived.stdout.strip() == "https://shop.example.com", derived.stderr
    for name, value in (("JOYCART_STAFF_EMAILS", "ops@joycart.test,not-an-address"), ("JOYCART_SITE_URL", "shop")):
        refused = manage("check", **{name: value})
        assert refused.returncode != 0 and name in refused.stderr
        assert len(refused.stderr.strip().splitlines()) == 1, refused.stderr


PING_ROUTE = (
    "from django.urls import Resolver404, resolve\n"
    "try:\n    resolve('/ping'); print('served')\n"
    "except Resolver404:\n    print('absent')"
)


def test_production_does_not_serve_the_benchmarks_ping_page_to_scanners():
    production = {**PRODUCTION, **RAZORPAY_KEYS}
    assert manage("shell", "--no-imports", "-c", PING_ROUTE, **production).stdout.strip() == "absent"
    benched = manage("shell", "--no-imports", "-c", PING_ROUTE, **production, DJANGO_BENCH_PING="1")
    assert benched.stdout.strip() == "served", benched.stderr
