"""Reads of the cart, always scoped to its owner.

Prices are never stored in the cart: every read shows the variant's current price, and
whether it can still be bought right now (visible, enough stock) is worked out here too.
"""

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.urls import reverse

from accounts.models import User
from cart.models import Cart, CartItem
from catalog.models import Product, ProductImage, ProductVariant, variant_label
from catalog.selectors import visible_products, visible_variants
from joycart.ids import is_valid_id


@dataclass(frozen=True)
class CartLine:
    id: int  # the CartItem's id; in a guest cart, the variant's id
    product: Product
    variant: ProductVariant
    options: str  # "Size: XL, Colour: Blue", blank for a product without options
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


def variant_for_cart(*, variant_id: int) -> ProductVariant | None:
    """A variant shoppers may put in a cart now, with its product and store (for the own-product rule)."""
    if not is_valid_id(variant_id):
        return None
    return visible_variants().select_related("product__store").filter(pk=variant_id).first()


def variants_for_cart(*, variant_ids: list[int]) -> dict[int, ProductVariant]:
    ids = [variant_id for variant_id in variant_ids if is_valid_id(variant_id)]
    variants = visible_variants().select_related("product__store").filter(pk__in=ids)
    return {variant.pk: variant for variant in variants}


def product_variant_ids(*, product_id: int) -> list[int] | None:
    """The ids of a visible product's active variants (at most two: enough to tell one from several);
    None when shoppers cannot see the product."""
    if not is_valid_id(product_id) or not visible_products().filter(pk=product_id).exists():
        return None
    return list(visible_variants().filter(product_id=product_id).order_by("pk").values_list("pk", flat=True)[:2])


def visible_variant_url(*, variant_id: int) -> str | None:
    """The product page with this variant chosen, if shoppers can still see it."""
    if not is_valid_id(variant_id):
        return None
    slug = visible_variants().filter(pk=variant_id).values_list("product__slug", flat=True).first()
    return f"{reverse('product_detail', kwargs={'slug': slug})}?variant={variant_id}" if slug else None


def visible_product_url(*, product_id: int, variant_id: int) -> str | None:
    """The page of a product shoppers can see, named by its id or by one of its variants' (even an
    inactive one: the shopper can still choose another there)."""
    named = Q(pk=product_id) if is_valid_id(product_id) else Q(pk__in=[])
    if is_valid_id(variant_id):
        named |= Q(variants__pk=variant_id)
    slug = visible_products().filter(named).values_list("slug", flat=True).first()
    return reverse("product_detail", kwargs={"slug": slug}) if slug else None


def user_cart_items(*, user: User) -> QuerySet[CartItem]:
    return CartItem.objects.filter(cart__user=user)


def cart_item_get(*, user: User, item_id: int) -> CartItem:
    """Another shopper's line answers 404, so its existence does not leak."""
    if not is_valid_id(item_id):
        raise Http404("No such cart item.")
    return get_object_or_404(
        user_cart_items(user=user).select_related("variant__product").prefetch_related("variant__product__options"),
        pk=item_id,
    )


def cart_item_count(*, user: User) -> int:
    """The nav badge: one aggregate query, unless the user was loaded with it (NAV_CART_COUNT)."""
    counted = getattr(user, NAV_CART_COUNT, None)
    if counted is not None:
        return counted
    return user_cart_items(user=user).aggregate(total=Sum("quantity"))["total"] or 0


def cart_owner_id(*, cart_id: int) -> int | None:
    """Whose cart this is (None once the cart is gone)."""
    return Cart.objects.filter(pk=cart_id).values_list("user_id", flat=True).first()


# The attribute a user row loaded with `cart_item_count_of` carries the nav badge in.
NAV_CART_COUNT = "nav_cart_item_count"


def cart_item_count_of(user_ref: str) -> Coalesce:
    """The nav badge as a subquery on a user row (`user_ref` names its id), for a query that loads the
    user anyway: annotate it as NAV_CART_COUNT and the page costs one round trip fewer."""
    totals = (
        CartItem.objects.filter(cart__user=OuterRef(user_ref))
        .values("cart__user")
        .annotate(total=Sum("quantity"))
        .values("total")
    )
    return Coalesce(Subquery(totals), 0)


def _visible(variant_ref: str) -> Exists:
    """The catalog's visibility rule as a subquery, so it stays defined in one place."""
    return Exists(visible_variants().filter(pk=OuterRef(variant_ref)))


def _images() -> QuerySet[ProductImage]:
    return ProductImage.objects.order_by("position", "id")


def line_problem(variant: ProductVariant, quantity: int, *, is_visible: bool) -> str | None:
    """Why a line cannot be checked out as it stands, or None; the cart page shows it beside the line."""
    if not is_visible:
        return "This product is no longer available. Remove it from your cart."
    if variant.stock <= 0:
        return "Out of stock. Remove it from your cart."
    if variant.stock < quantity:
        return f"Only {variant.stock} left in stock. Lower the quantity to {variant.stock} or less."
    return None


def variant_thumbnail_url(variant: ProductVariant) -> str | None:
    """The variant's own image, else its product's first (prefetched, ordered by position)."""
    if variant.image_id is not None:
        return variant.image.thumbnail.url
    images = variant.product.images.all()
    return images[0].thumbnail.url if images else None


def variant_options_label(variant: ProductVariant) -> str:
    """ "Size: XL, Colour: Blue", from the product's prefetched options."""
    return variant_label(option_names=[option.name for option in variant.product.options.all()], variant=variant)


def _line(*, line_id: int, variant: ProductVariant, quantity: int, is_visible: bool) -> CartLine:
    return CartLine(
        id=line_id,
        product=variant.product,
        variant=variant,
        options=variant_options_label(variant),
        quantity=quantity,
        unit_price=variant.price,
        line_total=variant.price * quantity,
        problem=line_problem(variant, quantity, is_visible=is_visible),
        thumbnail_url=variant_thumbnail_url(variant),
    )


def with_line_relations(variants: QuerySet, prefix: str = "") -> QuerySet:
    """What a cart or checkout line shows of its variant: product, store, image, option names.

    Four queries in all, however many lines.
    """
    return variants.select_related(f"{prefix}product__store", f"{prefix}image").prefetch_related(
        Prefetch(f"{prefix}product__images", queryset=_images()), f"{prefix}product__options"
    )


def cart_view(*, user: User) -> CartView:
    """Four queries whatever the number of lines: the lines with their variants, then images and options."""
    items = with_line_relations(
        user_cart_items(user=user).annotate(variant_is_visible=_visible("variant_id")), prefix="variant__"
    ).order_by("added_at", "id")
    return CartView(
        lines=[
            _line(line_id=item.pk, variant=item.variant, quantity=item.quantity, is_visible=item.variant_is_visible)
            for item in items
        ]
    )


def guest_cart_view(*, lines: dict[int, int]) -> CartView:
    """The same view for a cookie cart; a variant deleted since it was added just drops out."""
    ids = [variant_id for variant_id in lines if is_valid_id(variant_id)]
    variants = with_line_relations(ProductVariant.objects.filter(pk__in=ids).annotate(is_visible=_visible("pk")))
    by_id = {variant.pk: variant for variant in variants}
    return CartView(
        lines=[
            _line(
                line_id=variant_id,
                variant=by_id[variant_id],
                quantity=quantity,
                is_visible=by_id[variant_id].is_visible,
            )
            for variant_id, quantity in lines.items()
            if variant_id in by_id
        ],
        is_guest=True,
    )
