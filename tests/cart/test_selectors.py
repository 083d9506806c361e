from decimal import Decimal

import pytest

from cart.selectors import cart_item_count, cart_view, guest_cart_view
from catalog.models import ProductImage
from tests.cart.helpers import HIDDEN, hide, product_in_sizes, product_with_image, put_in_cart, variant_id_of
from tests.factories import ProductFactory, only_variant, variant_update

pytestmark = pytest.mark.django_db


class TestCartView:
    def test_totals_come_from_current_prices(self, user):
        mug = ProductFactory(price=Decimal("249.50"))
        lamp = ProductFactory(price=Decimal("1200.00"))
        put_in_cart(user, mug, 2)
        put_in_cart(user, lamp, 1)
        cart = cart_view(user=user)
        assert [(ln.product, ln.quantity, ln.unit_price, ln.line_total) for ln in cart.lines] == [
            (mug, 2, Decimal("249.50"), Decimal("499.00")),
            (lamp, 1, Decimal("1200.00"), Decimal("1200.00")),
        ]
        assert cart.subtotal == Decimal("1699.00")
        assert cart.item_count == 3
        assert cart.has_problems is False

    def test_a_price_change_after_adding_shows_the_new_price(self, user, product):
        put_in_cart(user, product, 3)
        variant_update(only_variant(product), price=Decimal("450.00"))
        cart = cart_view(user=user)
        assert cart.lines[0].unit_price == Decimal("450.00")
        assert cart.subtotal == Decimal("1350.00")

    def test_stock_below_the_quantity_is_a_problem_left_out_of_the_subtotal(self, user):
        short = ProductFactory(stock=10, price=Decimal("100.00"))
        fine = ProductFactory(price=Decimal("50.00"))
        put_in_cart(user, short, 4)
        put_in_cart(user, fine, 1)
        variant_update(only_variant(short), stock=2)
        cart = cart_view(user=user)
        assert cart.lines[0].problem == "Only 2 left in stock. Lower the quantity to 2 or less."
        assert cart.lines[1].problem is None
        assert cart.subtotal == Decimal("50.00")
        assert cart.item_count == 5
        assert cart.has_problems is True

    def test_sold_out_is_a_problem(self, user, product):
        put_in_cart(user, product, 1)
        variant_update(only_variant(product), stock=0)
        assert cart_view(user=user).lines[0].problem == "Out of stock. Remove it from your cart."

    @pytest.mark.parametrize("how", HIDDEN)
    def test_a_hidden_product_is_a_problem(self, user, product, how):
        put_in_cart(user, product, 1)
        hide(product, how)
        cart = cart_view(user=user)
        assert cart.lines[0].problem == "This product is no longer available. Remove it from your cart."
        assert cart.subtotal == Decimal("0.00")

    def test_lines_keep_the_order_they_were_added_in(self, user):
        products = ProductFactory.create_batch(3)
        for product in reversed(products):
            put_in_cart(user, product)
        assert [ln.product for ln in cart_view(user=user).lines] == list(reversed(products))

    def test_only_the_shoppers_own_lines(self, user, other_user, product):
        put_in_cart(other_user, product, 2)
        assert cart_view(user=user).lines == []
        assert cart_view(user=user).subtotal == Decimal("0.00")

    def test_thumbnail_is_the_first_image(self, user):
        product = product_with_image()
        put_in_cart(user, product)
        assert cart_view(user=user).lines[0].thumbnail_url == f"/media/products/{product.pk}/front-thumb.webp"

    def test_three_queries_whatever_the_number_of_lines(self, user, django_assert_num_queries):
        """The lines with their variants, products and stores; then the images; then the option names."""
        for _ in range(6):
            put_in_cart(user, product_with_image())
        with django_assert_num_queries(3):
            cart = cart_view(user=user)
            assert [ln.thumbnail_url for ln in cart.lines]


class TestGuestCartView:
    def test_same_rules_for_a_cookie_cart(self):
        fine = ProductFactory(price=Decimal("10.00"))
        short = ProductFactory(stock=1)
        hidden = ProductFactory()
        hide(hidden, "inactive store")
        lines = {variant_id_of(fine): 3, variant_id_of(short): 2, variant_id_of(hidden): 1}
        cart = guest_cart_view(lines=lines)
        assert cart.is_guest is True
        assert [ln.id for ln in cart.lines] == list(lines)
        assert [bool(ln.problem) for ln in cart.lines] == [False, True, True]
        assert cart.subtotal == Decimal("30.00")
        assert cart.item_count == 6

    def test_deleted_products_drop_out(self, product):
        assert [ln.product for ln in guest_cart_view(lines={variant_id_of(product): 1, 999_999: 2}).lines] == [product]


class TestItemCount:
    def test_sums_quantities_in_one_query(self, user, django_assert_num_queries):
        put_in_cart(user, ProductFactory(), 2)
        put_in_cart(user, ProductFactory(), 3)
        with django_assert_num_queries(1):
            assert cart_item_count(user=user) == 5

    def test_zero_without_a_cart(self, user):
        assert cart_item_count(user=user) == 0


class TestVariantLines:
    def test_a_line_shows_its_variant_options_and_price(self, user):
        product, (small, large) = product_in_sizes("S", "XL", title="Tee")
        variant_update(large, price=Decimal("649.00"))
        put_in_cart(user, large, 2)
        put_in_cart(user, small, 1)
        cart = cart_view(user=user)
        assert [(ln.product, ln.variant, ln.options, ln.unit_price, ln.line_total) for ln in cart.lines] == [
            (product, large, "Size: XL", Decimal("649.00"), Decimal("1298.00")),
            (product, small, "Size: S", Decimal("499.00"), Decimal("499.00")),
        ]
        assert cart.subtotal == Decimal("1797.00")

    def test_a_product_without_options_has_a_blank_label(self, user, product):
        put_in_cart(user, product)
        assert cart_view(user=user).lines[0].options == ""

    def test_problems_are_per_variant(self, user):
        _, (small, large, extra_large) = product_in_sizes("S", "L", "XL")
        for variant in (small, large, extra_large):
            put_in_cart(user, variant, 3)
        variant_update(small, stock=1)
        variant_update(extra_large, is_active=False)
        cart = cart_view(user=user)
        assert [ln.problem for ln in cart.lines] == [
            "Only 1 left in stock. Lower the quantity to 1 or less.",
            None,
            "This product is no longer available. Remove it from your cart.",
        ]
        assert cart.subtotal == Decimal("1497.00")

    def test_a_variant_with_its_own_image_shows_it(self, user):
        product, (small, large) = product_in_sizes("S", "L")
        front = ProductImage.objects.create(product=product, image="f.jpg", thumbnail="f-thumb.webp", position=0)
        back = ProductImage.objects.create(product=product, image="b.jpg", thumbnail="b-thumb.webp", position=1)
        variant_update(large, image=back)
        put_in_cart(user, small)
        put_in_cart(user, large)
        assert [ln.thumbnail_url for ln in cart_view(user=user).lines] == [front.thumbnail.url, back.thumbnail.url]

    def test_three_queries_with_lines_of_products_in_several_variants(self, user, django_assert_num_queries):
        for _ in range(3):
            product, variants = product_in_sizes("S", "M", "L")
            ProductImage.objects.create(product=product, image="f.jpg", thumbnail="f-thumb.webp", position=0)
            back = ProductImage.objects.create(product=product, image="b.jpg", thumbnail="b-thumb.webp", position=1)
            variant_update(variants[1], image=back)
            for variant in variants:
                put_in_cart(user, variant)
        with django_assert_num_queries(3):
            cart = cart_view(user=user)
            assert [(ln.options, ln.thumbnail_url) for ln in cart.lines][:3] == [
                ("Size: S", "/media/f-thumb.webp"),
                ("Size: M", "/media/b-thumb.webp"),
                ("Size: L", "/media/f-thumb.webp"),
            ]
        assert len(cart.lines) == 9

    def test_a_guest_cart_with_two_variants_of_one_product(self):
        _, (small, large) = product_in_sizes("S", "L")
        variant_update(large, price=Decimal("599.00"))
        cart = guest_cart_view(lines={large.pk: 1, small.pk: 2})
        assert [(ln.id, ln.variant, ln.options, ln.quantity) for ln in cart.lines] == [
            (large.pk, large, "Size: L", 1),
            (small.pk, small, "Size: S", 2),
        ]
        assert cart.subtotal == Decimal("1597.00")
