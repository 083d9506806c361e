"""Settings are read from the environment; production refuses to start without its secrets."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION_SECRET = "p" * 30 + "-Q7x!9zR2#kL4mN8vB6cX1jH5gF3dS0aW"


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    clean_env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL", "REDIS_URL"))}
    return subprocess.run(  # noqa: S603 - our own manage.py with fixed arguments
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean_env, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_debug_off_without_secret_key_stops_with_the_variable_name():
    result = manage("check", DJANGO_DEBUG="0", DJANGO_ALLOWED_HOSTS="example.com")
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_check_deploy_is_clean_under_production_settings():
    result = manage(
        "check", "--deploy", "--fail-level", "WARNING",
        DJANGO_DEBUG="0", DJANGO_SECRET_KEY=PRODUCTION_SECRET, DJANGO_ALLOWED_HOSTS="example.com",
    )  # fmt: skip
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
