"""Writing, editing and deleting a review from the product page.

Each is a CSRF-protected POST that redirects back to the product with a flash message, so a
reload never repeats it. A refused form is shown again on its own page, with the errors
beside the fields. The rules live in `reviews.services`, shared with the API.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from catalog import selectors as catalog_selectors
from joycart.errors import DomainError
from reviews import selectors
from reviews.errors import NotEligible
from reviews.forms import ReviewForm
from reviews.services import review_create, review_delete, review_update


def _product_reviews_url(slug: str) -> str:
    return reverse("product_detail", args=[slug]) + "#reviews"


@login_required
def review_new(request, slug: str):
    product = catalog_selectors.product_detail(slug=slug)
    standing = selectors.review_standing(user=request.user, product_id=product.pk, seller_user_id=product.store.user_id)
    if standing.state == standing.REVIEWED:
        return redirect("reviews:edit", review_id=standing.own_review.pk)
    if not standing.can_review:
        messages.error(request, NotEligible.message)
        return redirect(_product_reviews_url(slug))
    form = ReviewForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            review_create(user=request.user, product_id=product.pk, **form.cleaned_data)
        except DomainError as exc:
            # already_reviewed from a second tab, or not_eligible: the message says which.
            messages.error(request, exc.message)
            return redirect(_product_reviews_url(slug))
        messages.success(request, "Thank you! Your review is published.")
        return redirect(_product_reviews_url(slug))
    return render(request, "reviews/review_form.html", {"form": form, "product": product, "review": None})


@login_required
def review_edit(request, review_id: int):
    review = selectors.user_review_get(user=request.user, review_id=review_id)
    product = review.product
    initial = {"rating": review.rating, "comment": review.comment}
    form = ReviewForm(request.POST if request.method == "POST" else None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            review_update(user=request.user, review_id=review.pk, **form.cleaned_data)
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, "Your review is updated.")
        return redirect(_product_reviews_url(product.slug))
    return render(request, "reviews/review_form.html", {"form": form, "product": product, "review": review})


@login_required
@require_POST
def review_delete_view(request, review_id: int):
    review = selectors.user_review_get(user=request.user, review_id=review_id)
    try:
        review_delete(user=request.user, review_id=review.pk)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Your review is deleted.")
    return redirect(_product_reviews_url(review.product.slug))
