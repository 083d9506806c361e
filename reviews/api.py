"""Reviews over the API: a product's reviews (public), writing one, and the author's edit and delete.

Views check the shape of the input, call one service and render the result; every rule
lives in `reviews.services`. Another user's review answers 404.
"""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsActiveUser
from catalog.selectors import visible_products
from joycart.errors import NotFound
from joycart.openapi import api_errors
from reviews import selectors
from reviews.errors import AlreadyReviewed, CommentTooLong, InvalidComment, InvalidRating, NotEligible
from reviews.models import Review
from reviews.serializers import ReviewInputSerializer, ReviewSerializer, ReviewUpdateSerializer
from reviews.services import review_create, review_delete, review_update

REVIEW_TEXT_RULES = (InvalidRating, CommentTooLong, InvalidComment)


class ProductReviewListCreateApi(generics.ListCreateAPIView):
    """A visible product's reviews, newest first (hidden ones left out); a buyer writes theirs."""

    serializer_class = ReviewSerializer
    filter_backends = []

    def get_permissions(self):
        return [AllowAny()] if self.request.method in ("GET", "HEAD", "OPTIONS") else [IsActiveUser()]

    def _product_id(self) -> int:
        return get_object_or_404(visible_products().values_list("pk", flat=True), pk=self.kwargs["pk"])

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Review.objects.none()
        return selectors.product_reviews(product_id=self._product_id())

    @extend_schema(
        request=ReviewInputSerializer,
        responses={201: ReviewSerializer},
    )
    @api_errors(*REVIEW_TEXT_RULES, NotEligible, NotFound, AlreadyReviewed)
    def post(self, request, pk: int):
        """Review a product you have received: `{rating: 1..5, comment?}`. One review per product."""
        product_id = self._product_id()
        serializer = ReviewInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        review = review_create(user=request.user, product_id=product_id, **serializer.validated_data)
        return Response(ReviewSerializer(review).data, status=status.HTTP_201_CREATED)


class ReviewDetailApi(APIView):
    http_method_names = ["patch", "delete", "options"]

    @extend_schema(request=ReviewUpdateSerializer, responses={200: ReviewSerializer})
    @api_errors(*REVIEW_TEXT_RULES, NotFound)
    def patch(self, request, review_id: int):
        """Change the rating and/or the comment of your own review."""
        serializer = ReviewUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        review = review_update(user=request.user, review_id=review_id, **serializer.validated_data)
        return Response(ReviewSerializer(review).data)

    @extend_schema(responses={204: None})
    @api_errors(NotFound)
    def delete(self, request, review_id: int):
        """Delete your own review. You may write a new one afterwards."""
        review_delete(user=request.user, review_id=review_id)
        return Response(status=status.HTTP_204_NO_CONTENT)
