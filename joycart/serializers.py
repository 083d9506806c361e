"""Input serializers that take each JSON value only in the type the OpenAPI schema documents for it.

DRF is lenient by design: a CharField takes 0 as "0", a BooleanField takes 1 and "yes", an
IntegerField takes "5". The API documents JSON types, so a value of another type is the client's
mistake and is refused (400, field errors) rather than guessed at: a phone number sent as a JSON
number is refused here, not stored because its digits happened to match. Multipart bodies (image
uploads) carry only text, so they are left to the fields themselves.
"""

from collections.abc import Mapping

from django.http import QueryDict
from rest_framework import serializers

# (field class, the JSON types it takes, what the message asks for); the first match wins.
JSON_TYPES: tuple[tuple[type[serializers.Field], tuple[type, ...], str], ...] = (
    (serializers.BooleanField, (bool,), "true or false"),
    (serializers.CharField, (str,), "a string"),
    (serializers.DecimalField, (str,), 'an amount as a string, such as "499.00"'),
    (serializers.IntegerField, (int,), "a whole number"),
    (serializers.PrimaryKeyRelatedField, (int,), "an id (a whole number)"),
    (serializers.ChoiceField, (str,), "one of the listed strings"),
)


def _type_refusal(field: serializers.Field, value: object) -> str | None:
    """Why `value` is not of the JSON type `field` documents, or None if it is (or the field decides itself)."""
    if value is None:
        return None  # the field's own allow_null rule decides
    for field_class, accepted, wanted in JSON_TYPES:
        if isinstance(field, field_class):
            if isinstance(value, accepted) and not (bool not in accepted and isinstance(value, bool)):
                return None
            return f"Send {wanted}."
    return None


class StrictJSONInput(serializers.Serializer):
    """Mix into an input serializer (before DRF's class) to refuse JSON values of the wrong type."""

    def to_internal_value(self, data):
        if isinstance(data, Mapping) and not isinstance(data, QueryDict):
            refused = {}
            for name, field in self.fields.items():
                if field.read_only or field.source == "*" or field.field_name not in data:
                    continue
                reason = _type_refusal(field, data[field.field_name])
                if reason is not None:
                    refused[name] = [serializers.ErrorDetail(reason, code="invalid")]
            if refused:
                raise serializers.ValidationError(refused)
        return super().to_internal_value(data)
