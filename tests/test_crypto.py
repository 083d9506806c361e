"""Encryption at rest (joycart.crypto): what goes in comes out, keys rotate, tampering is caught, and a buyer's
refund account is never in the database in the clear."""

import json

import pytest
from cryptography.fernet import Fernet
from django.db import connection

from joycart.crypto import InvalidToken, decrypt, encrypt
from orders.services.returns import order_item_return_approve, order_item_return_receive, order_item_return_request
from payments.models import Payout
from payments.services.returns import payout_account
from tests.factories import ProductFactory
from tests.orders.helpers import buy_now, items_of, make_buyer
from tests.returns.helpers import BANK, UPI, deliver

OLD, NEW = Fernet.generate_key().decode(), Fernet.generate_key().decode()


def test_what_is_encrypted_decrypts_to_the_same_text_and_is_not_readable():
    text = json.dumps(BANK)
    token = encrypt(text)
    assert decrypt(token) == text
    assert BANK["account_number"] not in token and "Meera" not in token
    assert encrypt(text) != token  # a fresh IV each time: equal accounts do not look equal at rest


def test_without_keys_one_is_derived_from_the_secret_key(settings):
    settings.FIELD_ENCRYPTION_KEYS = []
    token = encrypt("meera.iyer@okaxis")
    settings.SECRET_KEY = "another-secret-key-for-this-test-only-000000000000"
    with pytest.raises(InvalidToken):
        decrypt(token)


def test_a_new_key_goes_first_and_the_old_one_still_decrypts(settings):
    settings.FIELD_ENCRYPTION_KEYS = [OLD]
    before = encrypt("before the rotation")

    settings.FIELD_ENCRYPTION_KEYS = [NEW, OLD]
    after = encrypt("after the rotation")
    assert decrypt(before) == "before the rotation"
    assert decrypt(after) == "after the rotation"

    settings.FIELD_ENCRYPTION_KEYS = [NEW]  # the old key dropped: only what it alone encrypted is lost
    assert decrypt(after) == "after the rotation"
    with pytest.raises(InvalidToken):
        decrypt(before)
    settings.FIELD_ENCRYPTION_KEYS = [OLD]
    with pytest.raises(InvalidToken):
        decrypt(after)


def test_a_tampered_token_is_refused():
    token = encrypt(json.dumps(UPI))
    middle = len(token) // 2
    tampered = token[:middle] + ("A" if token[middle] != "A" else "B") + token[middle + 1 :]
    with pytest.raises(InvalidToken):
        decrypt(tampered)
    with pytest.raises(InvalidToken):
        decrypt("not a token at all")


def raw_rows(table: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {table}")  # noqa: S608 - a fixed table name
        return repr(cursor.fetchall())


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("account", "secrets", "masked"),
    [
        (UPI, ["meera.iyer@okaxis", "meera.iyer"], "UPI ••••@okaxis"),
        (BANK, ["50100123456789", "Meera Iyer"], "A/c ••••6789 (HDFC0001234)"),
    ],
)
def test_the_refund_account_is_stored_encrypted_in_the_request_and_the_payout(account, secrets, masked):
    buyer = make_buyer()
    item = deliver(items_of(buy_now(buyer, ProductFactory(), 1))[0])
    order_item_return_request(item_id=item.pk, buyer=buyer, reason="damaged", refund_to=account)
    order_item_return_approve(item_id=item.pk, actor=item.seller.user)
    order_item_return_receive(item_id=item.pk, actor=item.seller.user, resellable=False)

    for table in ("orders_returnrequest", "payments_payout"):
        rows = raw_rows(table)
        assert masked in rows, table
        for secret in secrets:
            assert secret not in rows, (table, secret)
    assert payout_account(Payout.objects.get(order_item=item)) == account  # staff paying it read it whole
