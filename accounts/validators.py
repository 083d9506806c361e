"""The rules for an address's mobile number and PIN code, written once.

The model's fields carry these validators, so the address form (a ModelForm), the API's
serializer (a ModelSerializer) and the address services (`full_clean`) all apply them, after
`normalize_indian_mobile` has read the number the way people type it. Digits are ASCII only:
Python's `\\d` and `str.isdigit` also take Devanagari or superscript digits, which no courier
or SMS gateway reads.
"""

import re

from django.core.validators import RegexValidator

INDIAN_MOBILE_RE = r"^[6-9][0-9]{9}\Z"
PINCODE_RE = r"^[1-9][0-9]{5}\Z"
# How people type a mobile number: digits with spaces, dashes or brackets, and a leading + (+91 98765-43210).
TYPED_MOBILE_RE = r"^\+?[0-9][0-9 ()-]{9,19}\Z"
TYPED_MOBILE_MAX_LENGTH = 20

validate_indian_mobile = RegexValidator(
    INDIAN_MOBILE_RE, "Enter a valid 10-digit Indian mobile number.", "invalid_phone"
)
validate_pincode = RegexValidator(PINCODE_RE, "Enter a valid 6-digit PIN code.", "invalid_pincode")


def normalize_indian_mobile(value: str) -> str:
    """Accept the ways people type a mobile number (+91 98765-43210, 098765 43210) and keep 10 digits.
    Anything else (a letter, a stray symbol) comes back as it was, for the validator to refuse."""
    value = value.strip()
    if not re.fullmatch(TYPED_MOBILE_RE, value):
        return value
    digits = "".join(ch for ch in value if ch in "0123456789")
    if len(digits) == 12 and digits.startswith("91"):
        return digits[2:]
    if len(digits) == 11 and digits.startswith("0"):
        return digits[1:]
    return digits if len(digits) == 10 else value
