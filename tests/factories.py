from decimal import Decimal

import factory
from django.contrib.auth import get_user_model

from accounts.models import Address, Store

TEST_PASSWORD = "Corr3ct-Horse-Battery"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"shopper{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    first_name = "Test"
    password = factory.PostGenerationMethodCall("set_password", TEST_PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class StoreFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Store

    user = factory.SubFactory(UserFactory)
    name = factory.Sequence(lambda n: f"Store {n}")
    slug = factory.Sequence(lambda n: f"store-{n}")
    description = "A test store."


class AddressFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Address

    user = factory.SubFactory(UserFactory)
    name = "Test Person"
    phone = "9876543210"
    line1 = "1 Test Street"
    city = "Mumbai"
    state = "MH"
    pincode = "400001"
    is_default = False


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "catalog.Category"
        django_get_or_create = ["slug"]

    name = factory.Sequence(lambda n: f"Category {n}")
    slug = factory.Sequence(lambda n: f"category-{n}")


class ProductFactory(factory.django.DjangoModelFactory):
    """A visible product with one variant, which takes `sku`, `price`, `mrp` and `stock`.

    Use the services in tests of behaviour; this only builds rows. `VariantFactory` adds more variants.
    """

    class Meta:
        model = "catalog.Product"

    store = factory.SubFactory(StoreFactory)
    category = factory.SubFactory(CategoryFactory)
    title = factory.Sequence(lambda n: f"Product {n}")
    slug = factory.Sequence(lambda n: f"product-{n}")
    sku = factory.Sequence(lambda n: f"SKU-{n:05d}")
    brand = "Acme"
    description = "A fine product."
    price = factory.LazyFunction(lambda: Decimal("499.00"))
    mrp = None
    stock = 10
    is_active = True

    @classmethod
    def _create(cls, model_class, *args, sku, **kwargs):
        from catalog.models import ProductVariant

        product = model_class.objects.create(*args, price_max=kwargs["price"], **kwargs)
        ProductVariant.objects.create(
            product=product, sku=sku, price=product.price, mrp=product.mrp, stock=product.stock
        )
        return product


class VariantFactory(factory.django.DjangoModelFactory):
    """Another variant of `product`; refresh its summary (`product_summary_refresh`) after adding one."""

    class Meta:
        model = "catalog.ProductVariant"

    product = factory.SubFactory(ProductFactory)
    sku = factory.Sequence(lambda n: f"VAR-{n:05d}")
    price = factory.LazyFunction(lambda: Decimal("499.00"))
    mrp = None
    stock = 10
    is_active = True


def only_variant(product):
    """The one variant a `ProductFactory` product is made with."""
    return product.variants.get()


def as_variant(product_or_variant):
    """What a test means by "this product" where a variant is bought: a variant as it is, a product's only variant."""
    from catalog.models import Product

    return only_variant(product_or_variant) if isinstance(product_or_variant, Product) else product_or_variant


def variant_update(variant, **fields) -> None:
    """Change a variant's columns directly (a sale elsewhere, a price change) and refresh its product's summary."""
    from catalog.models import ProductVariant
    from catalog.services.summary import product_summary_refresh

    ProductVariant.objects.filter(pk=variant.pk).update(**fields)
    product_summary_refresh(product_ids=[variant.product_id])
    variant.refresh_from_db()
