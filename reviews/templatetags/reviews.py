from decimal import ROUND_HALF_UP, Decimal

from django import template

from reviews.forms import ReviewForm
from reviews.models import MAX_RATING

register = template.Library()


@register.filter
def stars(value) -> str:
    """★★★★☆ for 4, or for an average of 3.5 to 4.49: whole stars, rounded half up."""
    filled = int(Decimal(str(value or 0)).quantize(Decimal("1"), rounding=ROUND_HALF_UP))
    filled = max(0, min(MAX_RATING, filled))
    return "★" * filled + "☆" * (MAX_RATING - filled)


@register.inclusion_tag("reviews/_review_box.html", takes_context=True)
def review_box(context, product: dict) -> dict:
    """Where the visitor stands on reviewing the product: the form, their review, or why not."""
    standing = context["review_standing"]
    return {
        "standing": standing,
        "product": product,
        "form": ReviewForm() if standing.can_review else None,
        "request": context.get("request"),
        "csrf_token": context.get("csrf_token"),
    }
