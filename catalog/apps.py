from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "catalog"
    verbose_name = "Catalog"

    def ready(self) -> None:
        from accounts.signals import seller_visibility_changed, store_renamed
        from catalog.cache import structure_changed

        seller_visibility_changed.connect(structure_changed, dispatch_uid="catalog-seller-visibility")
        store_renamed.connect(structure_changed, dispatch_uid="catalog-store-renamed")
