from django.apps import AppConfig


class ReviewsConfig(AppConfig):
    name = "reviews"
    verbose_name = "Reviews"

    def ready(self) -> None:
        from accounts.signals import user_renamed
        from reviews.services import author_renamed

        user_renamed.connect(author_renamed, dispatch_uid="reviews-author-renamed")
