from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from accounts.models import Address, IndianState, Store, User
from accounts.selectors import email_taken, store_name_taken, username_taken
from accounts.validators import TYPED_MOBILE_MAX_LENGTH, TYPED_MOBILE_RE, normalize_indian_mobile
from joycart.serializers import StrictJSONInput


class RegisterInputSerializer(StrictJSONInput, serializers.Serializer):
    username = serializers.RegexField(
        r"^[\w.+-]+$",
        max_length=150,
        error_messages={"invalid": "Use letters, digits and . + - _ only."},
    )
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(write_only=True, max_length=128, style={"input_type": "password"})

    def validate_username(self, value: str) -> str:
        if username_taken(value):
            raise serializers.ValidationError("That username is taken.", code="username_taken")
        return value

    def validate_email(self, value: str) -> str:
        if email_taken(value):
            raise serializers.ValidationError("An account with this e-mail address already exists.", code="email_taken")
        return value

    def validate(self, attrs):
        user = User(username=attrs["username"], email=attrs["email"])
        try:
            password_validation.validate_password(attrs["password"], user=user)
        except DjangoValidationError as exc:
            raise serializers.ValidationError({"password": list(exc.messages)}) from exc
        return attrs


class LoginInputSerializer(StrictJSONInput, serializers.Serializer):
    username = serializers.CharField(max_length=254, help_text="Username or e-mail address.")
    password = serializers.CharField(max_length=128, write_only=True, style={"input_type": "password"})


class LogoutInputSerializer(StrictJSONInput, serializers.Serializer):
    refresh = serializers.CharField(
        required=False,
        max_length=4096,
        help_text="The refresh token to revoke, for Bearer clients; browsers need not send it, "
        "as the refresh cookie is revoked too.",
    )


class TokenPairOutputSerializer(serializers.Serializer):
    access = serializers.CharField()
    refresh = serializers.CharField()


class StoreOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Store
        fields = ["id", "name", "slug", "description", "is_active", "created_at"]


class StoreInputSerializer(StrictJSONInput, serializers.Serializer):
    name = serializers.CharField(max_length=80)
    description = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")

    def validate_name(self, value: str) -> str:
        value = value.strip()
        if not value:
            raise serializers.ValidationError("Enter a store name.", code="blank")
        if store_name_taken(value):
            raise serializers.ValidationError("A store with this name already exists.", code="store_name_taken")
        return value


class MeOutputSerializer(serializers.ModelSerializer):
    is_seller = serializers.BooleanField(read_only=True)
    store = StoreOutputSerializer(source="active_store", read_only=True, allow_null=True)

    class Meta:
        model = User
        fields = ["id", "username", "email", "first_name", "last_name", "is_seller", "store", "is_staff"]


class AddressSerializer(StrictJSONInput, serializers.ModelSerializer):
    """Input and output of an address; the owner always comes from the request."""

    state = serializers.ChoiceField(choices=IndianState.choices)
    # As typed; stored (and answered) as the 10 digits. The model's validator checks those.
    phone = serializers.RegexField(
        TYPED_MOBILE_RE,
        max_length=TYPED_MOBILE_MAX_LENGTH,
        error_messages={"invalid": "Enter a valid 10-digit Indian mobile number."},
    )
    state_name = serializers.CharField(source="get_state_display", read_only=True)

    class Meta:
        model = Address
        fields = [
            "id", "name", "phone", "line1", "line2", "city", "state", "state_name",
            "pincode", "is_default", "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = ["id", "created_at", "updated_at"]

    def to_internal_value(self, data):
        # Accept "+91 98765 43210" and friends; the model keeps ten digits.
        if isinstance(data, dict) and isinstance(data.get("phone"), str):
            data = {**data, "phone": normalize_indian_mobile(data["phone"])}
        return super().to_internal_value(data)
