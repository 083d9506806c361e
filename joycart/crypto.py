"""Encryption at rest for the few values JoyCart must read back: the account a buyer names for a refund.

Fernet (AES with an HMAC) from `cryptography`, with `MultiFernet` so keys can rotate: the first of
`FIELD_ENCRYPTION_KEYS` encrypts and every one decrypts. Without the setting, one key is derived from
`SECRET_KEY` (HKDF), which suits development; production sets its own keys so the secret key can
rotate without losing what was encrypted.
"""

import base64
from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

__all__ = ["InvalidToken", "decrypt", "encrypt"]


def _derived_key(secret: str) -> bytes:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"joycart.field-encryption").derive(
        secret.encode()
    )
    return base64.urlsafe_b64encode(key)


@cache
def _fernet(keys: tuple[str, ...], secret: str) -> MultiFernet:
    return MultiFernet([Fernet(key) for key in keys] or [Fernet(_derived_key(secret))])


def _current() -> MultiFernet:
    return _fernet(tuple(settings.FIELD_ENCRYPTION_KEYS), settings.SECRET_KEY)


def encrypt(text: str) -> str:
    return _current().encrypt(text.encode()).decode()


def decrypt(token: str) -> str:
    """The text back; `InvalidToken` if no key fits (a key was dropped too soon) or it was altered."""
    return _current().decrypt(token.encode()).decode()
