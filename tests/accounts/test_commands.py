import pytest
from django.core.management import call_command

from accounts.models import Address, Store, User
from accounts.services.sessions import session_login

pytestmark = pytest.mark.django_db


def test_seed_demo_creates_every_role_and_is_idempotent(capsys):
    call_command("seed_demo")
    first = capsys.readouterr().out
    counts = (User.objects.count(), Store.objects.count(), Address.objects.count())

    call_command("seed_demo")

    assert (User.objects.count(), Store.objects.count(), Address.objects.count()) == counts
    assert User.objects.filter(is_staff=True).count() == 1
    assert Store.objects.count() == 2
    shoppers = User.objects.filter(is_staff=False, store__isnull=True)
    assert shoppers.count() == 2
    assert all(Address.objects.filter(user=s, is_default=True).count() == 1 for s in shoppers)
    assert "admin" in first and "priya_crafts" in first and "meera" in first


def test_printed_demo_logins_work(capsys):
    call_command("seed_demo")
    out = capsys.readouterr().out
    password = out.split("password: ")[1].split()[0]
    user, _pair = session_login(identifier="meera", password=password, ip="127.0.0.1")
    assert user.username == "meera"
