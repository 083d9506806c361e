from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "catalog"
    verbose_name = "Catalog"

    def ready(self) -> None:
        from accounts.signals import seller_visibility_changed
        from catalog.cache import listing_changed

        seller_visibility_changed.connect(listing_changed, dispatch_uid="catalog-seller-visibility")
