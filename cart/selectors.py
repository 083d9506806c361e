"""Reads of the cart, always scoped to its owner.

Prices are never stored in the cart: every read shows the product's current price, and
whether it can still be bought right now (visible, enough stock) is worked out here too.
"""

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Exists, OuterRef, Prefetch, QuerySet, Sum
from django.http import Http404
from django.shortcuts import get_object_or_404

from accounts.models import User
from cart.models import CartItem
from catalog.models import Product, ProductImage
from catalog.selectors import visible_products
from joycart.ids import is_valid_id


@dataclass(frozen=True)
class CartLine:
    id: int  # the CartItem's id; in a guest cart, the product's id
    product: Product
    quantity: int
    unit_price: Decimal
    line_total: Decimal
    problem: str | None
    thumbnail_url: str | None


@dataclass(frozen=True)
class CartView:
    """What the cart page and `GET /api/v1/cart/` show.

    `subtotal` counts only lines without a problem: it is what the shopper could check out
    right now. A line whose product vanished or ran short cannot be bought as it stands,
    so adding it would promise a total that checkout must then refuse.
    """

    lines: list[CartLine]
    is_guest: bool = False

    @property
    def subtotal(self) -> Decimal:
        return sum((line.line_total for line in self.lines if not line.problem), Decimal("0.00"))

    @property
    def item_count(self) -> int:
        """Every line counts here, problem or not: it matches the nav badge."""
        return sum(line.quantity for line in self.lines)

    @property
    def has_problems(self) -> bool:
        return any(line.problem for line in self.lines)


def product_for_cart(*, product_id: int) -> Product | None:
    """A product shoppers may put in a cart now, with its store (for the own-product rule)."""
    if not is_valid_id(product_id):
        return None
    return visible_products().select_related("store").filter(pk=product_id).first()


def products_for_cart(*, product_ids: list[int]) -> dict[int, Product]:
    ids = [product_id for product_id in product_ids if is_valid_id(product_id)]
    return {product.pk: product for product in visible_products().select_related("store").filter(pk__in=ids)}


def visible_product_slug(*, product_id: int) -> str | None:
    if not is_valid_id(product_id):
        return None
    return visible_products().filter(pk=product_id).values_list("slug", flat=True).first()


def user_cart_items(*, user: User) -> QuerySet[CartItem]:
    return CartItem.objects.filter(cart__user=user)


def cart_item_get(*, user: User, item_id: int) -> CartItem:
    """Another shopper's line answers 404, so its existence does not leak."""
    if not is_valid_id(item_id):
        raise Http404("No such cart item.")
    return get_object_or_404(user_cart_items(user=user).select_related("product"), pk=item_id)


def cart_item_count(*, user: User) -> int:
    """The nav badge: one aggregate query."""
    return user_cart_items(user=user).aggregate(total=Sum("quantity"))["total"] or 0


def _visible(product_ref: str) -> Exists:
    """The catalog's visibility rule as a subquery, so it stays defined in one place."""
    return Exists(visible_products().filter(pk=OuterRef(product_ref)))


def _images() -> QuerySet[ProductImage]:
    return ProductImage.objects.order_by("position", "id")


def _line_problem(product: Product, quantity: int, *, is_visible: bool) -> str | None:
    if not is_visible:
        return "This product is no longer available. Remove it from your cart."
    if product.stock <= 0:
        return "Out of stock. Remove it from your cart."
    if product.stock < quantity:
        return f"Only {product.stock} left in stock. Lower the quantity to {product.stock} or less."
    return None


def _thumbnail_url(product: Product) -> str | None:
    images = product.images.all()  # prefetched, ordered by position
    return images[0].thumbnail.url if images else None


def _line(*, line_id: int, product: Product, quantity: int, is_visible: bool) -> CartLine:
    return CartLine(
        id=line_id,
        product=product,
        quantity=quantity,
        unit_price=product.price,
        line_total=product.price * quantity,
        problem=_line_problem(product, quantity, is_visible=is_visible),
        thumbnail_url=_thumbnail_url(product),
    )


def cart_view(*, user: User) -> CartView:
    """Two queries whatever the number of lines: the lines with their products, then the images."""
    items = (
        user_cart_items(user=user)
        .select_related("product__store")
        .annotate(product_is_visible=_visible("product_id"))
        .prefetch_related(Prefetch("product__images", queryset=_images()))
        .order_by("added_at", "id")
    )
    return CartView(
        lines=[
            _line(line_id=item.pk, product=item.product, quantity=item.quantity, is_visible=item.product_is_visible)
            for item in items
        ]
    )


def guest_cart_view(*, lines: dict[int, int]) -> CartView:
    """The same view for a cookie cart; a product deleted since it was added just drops out."""
    ids = [product_id for product_id in lines if is_valid_id(product_id)]
    products = (
        Product.objects.filter(pk__in=ids)
        .select_related("store")
        .annotate(is_visible=_visible("pk"))
        .prefetch_related(Prefetch("images", queryset=_images()))
    )
    by_id = {product.pk: product for product in products}
    return CartView(
        lines=[
            _line(
                line_id=product_id,
                product=by_id[product_id],
                quantity=quantity,
                is_visible=by_id[product_id].is_visible,
            )
            for product_id, quantity in lines.items()
            if product_id in by_id
        ],
        is_guest=True,
    )
