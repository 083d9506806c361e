"""Review errors, each with a stable code for the API and a message for pages."""

from joycart.errors import Conflict, DomainError, PermissionDenied
from reviews.models import MAX_COMMENT_LENGTH, MAX_RATING, MIN_RATING


class InvalidRating(DomainError):
    code = "invalid_rating"
    message = f"Choose a rating from {MIN_RATING} to {MAX_RATING} stars."


class CommentTooLong(DomainError):
    code = "comment_too_long"
    message = f"Keep your review to {MAX_COMMENT_LENGTH:,} characters."


class InvalidComment(DomainError):
    code = "invalid_comment"
    message = "The review must be text."


class NotEligible(PermissionDenied):
    code = "not_eligible"
    message = "Only buyers who have received this product can review it."


class AlreadyReviewed(Conflict):
    code = "already_reviewed"
    message = "You have already reviewed this product. Edit your review instead."
