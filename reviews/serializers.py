"""Review input and output. Bad input raises the service's own error, so the API answers the
same `{"detail", "code"}` whichever layer refused it."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from joycart.serializers import StrictJSONInput
from reviews.errors import InvalidRating
from reviews.models import MAX_COMMENT_LENGTH, MAX_RATING, MIN_RATING, Review
from reviews.services import comment_clean, rating_clean


@extend_schema_field({"type": "integer", "minimum": MIN_RATING, "maximum": MAX_RATING})
class RatingField(serializers.Field):
    """Any bad rating (0, 6, 4.5, "abc", null) is `invalid_rating`."""

    def validate_empty_values(self, data):
        if data is None:
            raise InvalidRating()
        return super().validate_empty_values(data)

    def to_internal_value(self, data) -> int:
        if isinstance(data, str):
            raise InvalidRating()  # JSON carries a number; a form's text is the page's to read
        return rating_clean(data)

    def to_representation(self, value) -> int:
        return value


@extend_schema_field({"type": "string", "maxLength": MAX_COMMENT_LENGTH})
class CommentField(serializers.Field):
    """Plain text of at most 2,000 characters (`comment_too_long`); stored and returned as typed."""

    def validate_empty_values(self, data):
        if data is None:
            return (True, "")
        return super().validate_empty_values(data)

    def to_internal_value(self, data) -> str:
        return comment_clean(data)

    def to_representation(self, value) -> str:
        return value


class ReviewInputSerializer(StrictJSONInput, serializers.Serializer):
    rating = RatingField()
    comment = CommentField(required=False, default="")


class ReviewUpdateSerializer(StrictJSONInput, serializers.Serializer):
    rating = RatingField(required=False)
    comment = CommentField(required=False)


class ReviewSerializer(serializers.ModelSerializer):
    product_id = serializers.IntegerField(read_only=True)
    author = serializers.CharField(source="author_name", read_only=True)
    comment = serializers.CharField(
        read_only=True, help_text="Plain text as the author typed it: escape it to show it."
    )

    class Meta:
        model = Review
        fields = ["id", "product_id", "author", "rating", "comment", "created_at", "edited_at"]
        read_only_fields = fields
