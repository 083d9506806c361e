"""The review form of the product page and the edit page. It checks the shape; the service decides."""

from django import forms

from joycart.errors import DomainError
from reviews.models import MAX_COMMENT_LENGTH, MAX_RATING, MIN_RATING
from reviews.services import comment_clean, rating_clean

RATING_CHOICES = [(stars, f"{stars} star{'s' if stars > 1 else ''}") for stars in range(MAX_RATING, MIN_RATING - 1, -1)]


class ReviewForm(forms.Form):
    rating = forms.TypedChoiceField(label="Your rating", choices=RATING_CHOICES, coerce=int, widget=forms.RadioSelect)
    comment = forms.CharField(
        label="Your review",
        required=False,
        strip=True,
        # No maxlength attribute: a pasted text that is too long gets the form error, not a silent cut.
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=f"Optional. What should other shoppers know? At most {MAX_COMMENT_LENGTH:,} characters.",
    )

    def clean_rating(self):
        try:
            return rating_clean(self.cleaned_data["rating"])
        except DomainError as exc:
            raise forms.ValidationError(exc.message, code=exc.code) from exc

    def clean_comment(self):
        try:
            return comment_clean(self.cleaned_data["comment"])
        except DomainError as exc:
            raise forms.ValidationError(exc.message, code=exc.code) from exc
