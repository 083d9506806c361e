"""Cart pages. Shoppers' carts go through the services; guests' through the same rules, into a cookie.

Every change is a POST that redirects with a flash message, so the pages work without JavaScript
and a reload never repeats a change.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from cart.guest import guest_cart_read, guest_cart_write
from cart.models import MAX_QUANTITY, MIN_QUANTITY
from cart.selectors import cart_view, guest_cart_view, visible_product_url, visible_variant_url
from cart.services import (
    cart_item_add,
    cart_item_remove,
    cart_item_update,
    guest_cart_item_add,
    guest_cart_item_remove,
    guest_cart_item_update,
    quantity_clean,
    variant_id_resolve,
)
from joycart.errors import DomainError
from joycart.ids import parse_id
from joycart.redirects import safe_next_url


def _posted_id(request, name: str) -> int:
    """A posted id, or 0 (which matches nothing) when it is not one."""
    return parse_id(request.POST.get(name, "").strip()) or 0


def _back_to_product(request, *, variant_id: int, product_id: int) -> str:
    """Where a refused add returns: the page it came from, else the product (with the variant chosen
    while it can be bought), else the home page."""
    return (
        safe_next_url(request)
        or visible_variant_url(variant_id=variant_id)
        or visible_product_url(product_id=product_id, variant_id=variant_id)
        or reverse("home")
    )


def posted_variant_id(request) -> int:
    """The variant a product page's form posts (`variant_id`), or the only variant of its `product_id`.

    A blank `variant_id` (a size list left on its prompt) falls back to `product_id`, so a product with
    several variants asks for one (`VariantRequired`) rather than claiming to be unavailable. Raises
    `ProductUnavailable` for a product shoppers cannot see; 0 (which matches nothing) for a non-id.
    """
    if request.POST.get("variant_id", "").strip():
        return _posted_id(request, "variant_id")
    return variant_id_resolve(variant_id=None, product_id=_posted_id(request, "product_id"))


def cart_detail(request):
    if request.user.is_authenticated:
        return render(request, "cart/detail.html", _context(cart_view(user=request.user)))
    lines = guest_cart_read(request)
    cart = guest_cart_view(lines=lines)
    response = render(request, "cart/detail.html", _context(cart))
    if len(cart.lines) != len(lines):
        # Variants deleted since they were added: drop them from the cookie too.
        guest_cart_write(request, response, {line.id: line.quantity for line in cart.lines})
    return response


def _context(cart) -> dict:
    # The nav badge reuses the count just computed rather than asking the database again.
    return {
        "cart": cart,
        "cart_item_count": cart.item_count,
        "min_quantity": MIN_QUANTITY,
        "max_quantity": MAX_QUANTITY,
    }


@require_POST
def cart_add(request):
    variant_id = 0
    guest_lines = None
    try:
        variant_id = posted_variant_id(request)
        quantity = quantity_clean(request.POST.get("quantity") or "1")
        if request.user.is_authenticated:
            variant = cart_item_add(user=request.user, variant_id=variant_id, quantity=quantity).variant
        else:
            guest_lines, variant = guest_cart_item_add(
                lines=guest_cart_read(request), variant_id=variant_id, quantity=quantity
            )
    except DomainError as exc:
        messages.error(request, exc.message)
        # `variant_id` is still 0 when the product alone was posted and picked no variant.
        return redirect(_back_to_product(request, variant_id=variant_id, product_id=_posted_id(request, "product_id")))
    messages.success(request, f"Added {quantity} of {variant} to your cart.")
    response = redirect(safe_next_url(request) or reverse("cart:detail"))
    if guest_lines is not None:
        guest_cart_write(request, response, guest_lines)
    return response


@login_required
@require_POST
def item_update(request, item_id: int):
    try:
        item = cart_item_update(
            user=request.user, item_id=item_id, quantity=quantity_clean(request.POST.get("quantity"))
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"{item.variant}: quantity set to {item.quantity}.")
    return redirect("cart:detail")


@login_required
@require_POST
def item_remove(request, item_id: int):
    item = cart_item_remove(user=request.user, item_id=item_id)
    messages.success(request, f"Removed {item.variant} from your cart.")
    return redirect("cart:detail")


def _logged_in_since(request):
    """A guest form posted after logging in (another tab): the cookie cart is already merged."""
    messages.info(request, "You are logged in now, so your cart has moved to your account. Please try again.")
    return redirect("cart:detail")


@require_POST
def guest_item_update(request, variant_id: int):
    if request.user.is_authenticated:
        return _logged_in_since(request)
    response = redirect("cart:detail")
    try:
        lines, variant = guest_cart_item_update(
            lines=guest_cart_read(request), variant_id=variant_id, quantity=quantity_clean(request.POST.get("quantity"))
        )
    except DomainError as exc:
        messages.error(request, exc.message)
        return response
    guest_cart_write(request, response, lines)
    messages.success(request, f"{variant}: quantity set to {lines[variant_id]}.")
    return response


@require_POST
def guest_item_remove(request, variant_id: int):
    if request.user.is_authenticated:
        return _logged_in_since(request)
    response = redirect("cart:detail")
    guest_cart_write(request, response, guest_cart_item_remove(lines=guest_cart_read(request), variant_id=variant_id))
    messages.success(request, "Removed the item from your cart.")
    return response
