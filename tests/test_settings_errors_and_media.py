"""Production settings: Sentry only with SENTRY_DSN and without personal data, ADMINS from DJANGO_ADMINS,
and uploads either on Cloudinary or, asked for by name, served from this machine."""

import json

import pytest
from PIL import Image

from tests.test_settings import PRODUCTION, RAZORPAY_KEYS, manage

# Port 9 on loopback (discard): even if something were sent, it would not leave the machine.
TEST_DSN = "https://publickey@127.0.0.1:9/1"
SENTRY_STATE = (
    "import json, sys, sentry_sdk; from django.conf import settings; settings.DEBUG; "
    "client = sentry_sdk.get_client(); options = client.options if client.is_active() else {}; "
    "print(json.dumps({'active': client.is_active(), 'imported': 'joycart.error_reporting' in sys.modules, "
    "**{name: options.get(name) for name in ('send_default_pii', 'release', 'environment', "
    "'traces_sample_rate', 'max_request_body_size')}, "
    "'django': 'django' in {i.identifier for i in (client.integrations.values() if client.is_active() else [])}}))"
)


def sentry_state(**env: str) -> dict:
    result = manage("shell", "--no-imports", "-c", SENTRY_STATE, **PRODUCTION, **RAZORPAY_KEYS, **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_without_a_dsn_sentry_is_not_even_initialised():
    state = sentry_state()
    assert state["active"] is False and state["imported"] is False


def test_a_dsn_switches_on_the_django_integration_without_personal_data():
    state = sentry_state(SENTRY_DSN=TEST_DSN, SENTRY_RELEASE="joycart@4d85959", SENTRY_ENVIRONMENT="staging")
    assert state == {
        "active": True,
        "imported": True,
        "send_default_pii": False,
        "release": "joycart@4d85959",
        "environment": "staging",
        "traces_sample_rate": 0.0,
        # Checkout forms and Razorpay's webhooks carry shoppers' addresses, e-mails and phones.
        "max_request_body_size": "never",
        "django": True,
    }
    assert sentry_state(SENTRY_DSN=TEST_DSN, SENTRY_TRACES_SAMPLE_RATE="0.25")["traces_sample_rate"] == 0.25


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"SENTRY_DSN": "not-a-dsn"}, "SENTRY_DSN"),
        ({"SENTRY_DSN": TEST_DSN, "SENTRY_TRACES_SAMPLE_RATE": "2"}, "SENTRY_TRACES_SAMPLE_RATE"),
        ({"SENTRY_DSN": TEST_DSN, "SENTRY_TRACES_SAMPLE_RATE": "all"}, "SENTRY_TRACES_SAMPLE_RATE"),
        ({"DJANGO_ADMINS": "Ops <ops@joycart>"}, "DJANGO_ADMINS"),
        ({"DJANGO_ADMINS": "ops@joycart.test, nobody"}, "DJANGO_ADMINS"),
        ({"DJANGO_ADMINS": "Ops <>"}, "DJANGO_ADMINS"),
        ({"DJANGO_ADMINS": "ops@joycart.test;cto@joycart.test"}, "DJANGO_ADMINS"),
    ],
)
def test_a_bad_value_stops_start_up_with_one_line_naming_the_variable(env, named):
    result = manage("check", **PRODUCTION, **RAZORPAY_KEYS, **env)
    assert result.returncode != 0
    assert named in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


MAIL_ADMINS = (
    "import json, warnings; from django.conf import settings; from django.core import mail; "
    "warnings.simplefilter('error'); mail.mail_admins('Server error', 'A traceback'); "
    "print(json.dumps({'admins': settings.ADMINS, 'to': mail.outbox[0].to, 'from': mail.outbox[0].from_email}))"
)


def test_django_admins_get_server_error_mail_from_the_shops_address():
    result = manage(
        "shell", "--no-imports", "-c", MAIL_ADMINS, **PRODUCTION, **RAZORPAY_KEYS,
        DJANGO_ADMINS='Shop Ops <ops@joycart.test>, cto@joycart.test, "Doe, Jane" <jane@joycart.test>,',
        DJANGO_DEFAULT_FROM_EMAIL="JoyCart <shop@joycart.test>", EMAIL_URL="memory://",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    sent = json.loads(result.stdout)
    # Addresses, as Django 6 wants them (no deprecated (name, address) pairs), names kept.
    assert sent["admins"] == ["Shop Ops <ops@joycart.test>", "cto@joycart.test", '"Doe, Jane" <jane@joycart.test>']
    assert sent["to"] == sent["admins"]
    assert sent["from"] == "JoyCart <shop@joycart.test>"


def test_production_without_a_home_for_uploads_stops_naming_both_choices():
    env = {name: value for name, value in PRODUCTION.items() if name != "DJANGO_MEDIA_LOCAL"}
    result = manage("check", **env, **RAZORPAY_KEYS)
    assert result.returncode != 0
    assert result.stderr.strip() == (
        "ImproperlyConfigured: set the CLOUDINARY_URL environment variable for uploaded images (required when "
        "DJANGO_DEBUG=0), or DJANGO_MEDIA_LOCAL=1 to keep them in DJANGO_MEDIA_ROOT on this one machine."
    )


MEDIA_ROUTE = (
    "from django.urls import Resolver404, resolve\n"
    "try:\n    resolve('/media/products/1/photo.png'); print('served')\n"
    "except Resolver404:\n    print('absent')"
)


def test_cloudinary_takes_the_uploads_and_the_app_serves_no_media_folder():
    cloudinary = {"CLOUDINARY_URL": "cloudinary://123456789012345:fake-secret@joycart-test"}
    routed = manage("shell", "--no-imports", "-c", MEDIA_ROUTE, **PRODUCTION, **RAZORPAY_KEYS, **cloudinary)
    assert routed.stdout.strip() == "absent", routed.stderr
    assert manage("shell", "--no-imports", "-c", MEDIA_ROUTE, **PRODUCTION, **RAZORPAY_KEYS).stdout.strip() == "served"


SERVE_MEDIA = """
import json
from django.test import Client
client = Client(HTTP_HOST="example.com")
answers = {}
for path in ("/media/products/1/photo.png", "/media/../secret.txt", "/media/%2e%2e/secret.txt", "/media/products/"):
    response = client.get(path, secure=True)
    answers[path] = {
        "status": response.status_code,
        "type": response.headers.get("Content-Type"),
        "nosniff": response.headers.get("X-Content-Type-Options"),
        "cache": response.headers.get("Cache-Control"),
        "length": len(b"".join(response.streaming_content)) if response.streaming else len(response.content),
    }
print(json.dumps(answers))
"""


def test_production_with_media_local_serves_an_uploaded_image_and_nothing_outside_the_folder(tmp_path):
    media = tmp_path / "media"
    (media / "products" / "1").mkdir(parents=True)
    Image.new("RGB", (40, 30), (200, 80, 40)).save(media / "products" / "1" / "photo.png")
    (tmp_path / "secret.txt").write_text("outside the media folder")
    env = {
        **PRODUCTION,
        **RAZORPAY_KEYS,
        "DJANGO_MEDIA_ROOT": str(media),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        # The 404 page links the stylesheet through the production manifest.
        "DJANGO_STATIC_ROOT": str(tmp_path / "static"),
    }
    assert manage("collectstatic", "--noinput", **env).returncode == 0
    result = manage("shell", "--no-imports", "-c", SERVE_MEDIA, **env)
    assert result.returncode == 0, result.stderr
    # Production logs its request lines to stdout too; the script's answer is the last line.
    answers = json.loads(result.stdout.strip().splitlines()[-1])
    image = answers["/media/products/1/photo.png"]
    assert image["status"] == 200
    assert image["type"] == "image/png"
    assert image["nosniff"] == "nosniff"
    assert image["cache"] == "public, max-age=86400"
    assert image["length"] == (media / "products" / "1" / "photo.png").stat().st_size
    for escape in ("/media/../secret.txt", "/media/%2e%2e/secret.txt", "/media/products/"):
        assert answers[escape]["status"] == 404, escape
