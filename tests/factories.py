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
    """A visible product. Use the services in tests of behaviour; this only builds rows."""

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
