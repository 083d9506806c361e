"""Arrangement helpers shared by the cart tests."""

from decimal import Decimal

from cart.models import Cart, CartItem
from catalog.models import Product, ProductImage, ProductOption, ProductVariant
from catalog.services.summary import product_summary_refresh
from tests.factories import TEST_PASSWORD, ProductFactory, VariantFactory, as_variant, only_variant


def put_in_cart(user, product, quantity: int = 1) -> CartItem:
    """Arrange a cart row directly, so a test of one rule does not depend on another.
    `product` is a variant, or a product with one variant."""
    cart, _ = Cart.objects.get_or_create(user=user)
    return CartItem.objects.create(cart=cart, variant=as_variant(product), quantity=quantity)


def cart_lines(user) -> dict[int, int]:
    """{product id: quantity} of a cart of single-variant products."""
    return dict(CartItem.objects.filter(cart__user=user).values_list("variant__product_id", "quantity"))


def cart_variant_lines(user) -> dict[int, int]:
    return dict(CartItem.objects.filter(cart__user=user).values_list("variant_id", "quantity"))


def variant_id_of(product_or_variant) -> int:
    """The id a cart names: a variant's, or a single-variant product's only variant's."""
    return as_variant(product_or_variant).pk


def product_in_sizes(*sizes: str, **product_fields) -> tuple[Product, list[ProductVariant]]:
    """A product with a "Size" option and a variant per size (each ₹499.00, 10 in stock unless changed)."""
    product = ProductFactory(**product_fields)
    ProductOption.objects.create(product=product, position=1, name="Size", values=list(sizes))
    first = only_variant(product)
    first.option1 = sizes[0]
    first.save(update_fields=["option1"])
    variants = [first] + [
        VariantFactory(product=product, option1=size, position=position, price=first.price, stock=first.stock)
        for position, size in enumerate(sizes[1:], start=1)
    ]
    product_summary_refresh(product_ids=[product.pk])
    product.refresh_from_db()
    return product, variants


def product_with_image(**kwargs):
    product = ProductFactory(**kwargs)
    ProductImage.objects.create(
        product=product,
        image=f"products/{product.pk}/front.jpg",
        thumbnail=f"products/{product.pk}/front-thumb.webp",
        alt=product.title,
    )
    return product


def page_login(client, user, password: str = TEST_PASSWORD, **extra):
    response = client.post("/accounts/login/", {"username": user.username, "password": password, **extra})
    assert response.status_code == 302, response.content.decode()
    return response


def hide(product, how: str) -> None:
    """The three ways a product stops being visible to shoppers."""
    if how == "inactive product":
        product.is_active = False
        product.save(update_fields=["is_active"])
    elif how == "inactive store":
        product.store.is_active = False
        product.store.save(update_fields=["is_active"])
    elif how == "blocked seller":
        product.store.user.is_blocked = True
        product.store.user.save(update_fields=["is_blocked"])
    else:
        raise AssertionError(how)


HIDDEN = ["inactive product", "inactive store", "blocked seller"]
PRICE = Decimal("499.00")
