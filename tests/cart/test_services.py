import pytest
from django.db import IntegrityError, transaction
from django.http import Http404

from cart import services
from cart.errors import CartFull, InvalidQuantity, OutOfStock, OwnProduct, ProductUnavailable
from cart.models import Cart, CartItem
from cart.services import (
    cart_clear,
    cart_item_add,
    cart_item_remove,
    cart_item_update,
    cart_merge_guest,
    guest_cart_item_add,
    guest_cart_item_remove,
    guest_cart_item_update,
    quantity_clean,
    variant_id_resolve,
)
from catalog.errors import VariantRequired
from tests.cart.helpers import (
    HIDDEN,
    cart_lines,
    cart_variant_lines,
    hide,
    product_in_sizes,
    put_in_cart,
    variant_id_of,
)
from tests.factories import ProductFactory, only_variant, variant_update

pytestmark = pytest.mark.django_db


class TestQuantityClean:
    @pytest.mark.parametrize(("raw", "expected"), [(1, 1), (10, 10), ("3", 3), (" 7 ", 7), ("+2", 2)])
    def test_accepts_whole_numbers_from_1_to_10(self, raw, expected):
        assert quantity_clean(raw) == expected

    @pytest.mark.parametrize("raw", [0, 11, -1, "0", "11", "-1", "abc", "", "2.5", 2.5, 2.0, None, True, [], "\uff11"])
    def test_refuses_everything_else_with_invalid_quantity(self, raw):
        with pytest.raises(InvalidQuantity) as exc:
            quantity_clean(raw)
        assert exc.value.code == "invalid_quantity"
        assert exc.value.status_code == 400


class TestAdd:
    def test_adding_creates_the_cart_and_a_line(self, user, product):
        item = cart_item_add(user=user, variant_id=variant_id_of(product), quantity=2)
        assert item.quantity == 2
        assert Cart.objects.filter(user=user).count() == 1
        assert cart_lines(user) == {product.pk: 2}

    def test_adding_the_same_product_again_raises_its_quantity(self, user, product):
        cart_item_add(user=user, variant_id=variant_id_of(product), quantity=2)
        cart_item_add(user=user, variant_id=variant_id_of(product), quantity=3)
        assert cart_lines(user) == {product.pk: 5}
        assert Cart.objects.filter(user=user).count() == 1

    def test_repeated_adds_beyond_ten_are_refused_and_the_line_keeps_its_quantity(self, user):
        product = ProductFactory(stock=50)
        cart_item_add(user=user, variant_id=variant_id_of(product), quantity=8)
        with pytest.raises(InvalidQuantity, match="you already have 8"):
            cart_item_add(user=user, variant_id=variant_id_of(product), quantity=3)
        assert cart_lines(user) == {product.pk: 8}

    @pytest.mark.parametrize("quantity", [0, 11, -1])
    def test_quantity_outside_1_to_10_is_refused(self, user, product, quantity):
        with pytest.raises(InvalidQuantity):
            cart_item_add(user=user, variant_id=variant_id_of(product), quantity=quantity)
        assert cart_lines(user) == {}

    def test_more_than_the_stock_says_how_many_are_left(self, user):
        product = ProductFactory(stock=3, title="Brass Diya")
        with pytest.raises(OutOfStock, match="Only 3 of Brass Diya left"):
            cart_item_add(user=user, variant_id=variant_id_of(product), quantity=4)
        assert cart_lines(user) == {}

    def test_the_stock_check_applies_to_the_raised_total(self, user):
        product = ProductFactory(stock=5)
        cart_item_add(user=user, variant_id=variant_id_of(product), quantity=3)
        with pytest.raises(OutOfStock):
            cart_item_add(user=user, variant_id=variant_id_of(product), quantity=3)
        assert cart_lines(user) == {product.pk: 3}

    def test_a_sold_out_product_says_so(self, user):
        product = ProductFactory(stock=0, title="Kite")
        with pytest.raises(OutOfStock, match="Kite is out of stock"):
            cart_item_add(user=user, variant_id=variant_id_of(product), quantity=1)

    def test_a_seller_cannot_buy_their_own_product(self, seller):
        product = ProductFactory(store=seller.store)
        with pytest.raises(OwnProduct) as exc:
            cart_item_add(user=seller, variant_id=variant_id_of(product), quantity=1)
        assert exc.value.code == "own_product"
        assert cart_lines(seller) == {}

    def test_a_seller_can_buy_from_other_sellers(self, seller, product):
        cart_item_add(user=seller, variant_id=variant_id_of(product), quantity=1)
        assert cart_lines(seller) == {product.pk: 1}

    @pytest.mark.parametrize("how", HIDDEN)
    def test_a_hidden_product_is_unavailable(self, user, product, how):
        hide(product, how)
        with pytest.raises(ProductUnavailable) as exc:
            cart_item_add(user=user, variant_id=variant_id_of(product), quantity=1)
        assert exc.value.code == "product_unavailable"
        assert cart_lines(user) == {}

    @pytest.mark.parametrize("variant_id", [999_999, 0, -5, 2**70])
    def test_an_unknown_variant_is_unavailable(self, user, variant_id):
        with pytest.raises(ProductUnavailable):
            cart_item_add(user=user, variant_id=variant_id, quantity=1)

    def test_a_full_cart_takes_no_new_product_but_still_raises_quantities(self, user, monkeypatch):
        monkeypatch.setattr(services, "MAX_LINES", 2)
        first, second, third = ProductFactory.create_batch(3)
        cart_item_add(user=user, variant_id=variant_id_of(first), quantity=1)
        cart_item_add(user=user, variant_id=variant_id_of(second), quantity=1)
        with pytest.raises(CartFull):
            cart_item_add(user=user, variant_id=variant_id_of(third), quantity=1)
        cart_item_add(user=user, variant_id=variant_id_of(first), quantity=1)
        assert cart_lines(user) == {first.pk: 2, second.pk: 1}


class TestModelConstraints:
    """The database backs the rules up, whatever path writes a row."""

    def test_one_line_per_product(self, user, product):
        put_in_cart(user, product)
        with pytest.raises(IntegrityError), transaction.atomic():
            CartItem.objects.create(cart=user.cart, variant=only_variant(product), quantity=1)

    @pytest.mark.parametrize("quantity", [0, 11])
    def test_quantity_between_1_and_10(self, user, product, quantity):
        cart = Cart.objects.create(user=user)
        with pytest.raises(IntegrityError), transaction.atomic():
            CartItem.objects.create(cart=cart, variant=only_variant(product), quantity=quantity)

    def test_one_cart_per_user(self, user):
        Cart.objects.create(user=user)
        with pytest.raises(IntegrityError), transaction.atomic():
            Cart.objects.create(user=user)


class TestUpdateAndRemove:
    def test_update_sets_the_quantity(self, user, product):
        item = put_in_cart(user, product, 2)
        cart_item_update(user=user, item_id=item.pk, quantity=6)
        assert cart_lines(user) == {product.pk: 6}

    @pytest.mark.parametrize("quantity", [0, 11, "abc"])
    def test_update_refuses_a_bad_quantity(self, user, product, quantity):
        item = put_in_cart(user, product, 2)
        with pytest.raises(InvalidQuantity):
            cart_item_update(user=user, item_id=item.pk, quantity=quantity)
        assert cart_lines(user) == {product.pk: 2}

    def test_update_refuses_more_than_the_stock(self, user):
        product = ProductFactory(stock=4)
        item = put_in_cart(user, product, 2)
        with pytest.raises(OutOfStock, match="Only 4"):
            cart_item_update(user=user, item_id=item.pk, quantity=5)
        assert cart_lines(user) == {product.pk: 2}

    def test_update_allows_lowering_a_line_to_the_stock_left(self, user):
        product = ProductFactory(stock=6)
        item = put_in_cart(user, product, 6)
        variant_update(only_variant(product), stock=2)
        cart_item_update(user=user, item_id=item.pk, quantity=2)
        assert cart_lines(user) == {product.pk: 2}

    def test_update_of_a_hidden_product_says_to_remove_it(self, user, product):
        item = put_in_cart(user, product, 1)
        hide(product, "inactive product")
        with pytest.raises(ProductUnavailable, match="Remove it"):
            cart_item_update(user=user, item_id=item.pk, quantity=2)

    def test_another_users_line_is_not_found(self, user, other_user, product):
        theirs = put_in_cart(other_user, product, 2)
        put_in_cart(user, ProductFactory(), 1)
        with pytest.raises(Http404):
            cart_item_update(user=user, item_id=theirs.pk, quantity=5)
        with pytest.raises(Http404):
            cart_item_remove(user=user, item_id=theirs.pk)
        assert cart_lines(other_user) == {product.pk: 2}

    def test_remove_deletes_only_that_line(self, user, product):
        other = ProductFactory()
        item = put_in_cart(user, product, 2)
        put_in_cart(user, other, 1)
        removed = cart_item_remove(user=user, item_id=item.pk)
        assert removed.variant == only_variant(product)
        assert cart_lines(user) == {other.pk: 1}

    def test_clear_empties_only_this_cart(self, user, other_user, product):
        put_in_cart(user, product, 2)
        put_in_cart(other_user, product, 3)
        cart_clear(user=user)
        assert cart_lines(user) == {}
        assert cart_lines(other_user) == {product.pk: 3}


class TestMergeGuest:
    def test_guest_lines_join_an_empty_cart(self, user):
        first, second = ProductFactory.create_batch(2)
        notes = cart_merge_guest(user=user, guest_lines={variant_id_of(first): 2, variant_id_of(second): 1})
        assert notes == []
        assert cart_lines(user) == {first.pk: 2, second.pk: 1}

    def test_quantities_add_up_with_lines_already_in_the_cart(self, user, product):
        put_in_cart(user, product, 3)
        assert cart_merge_guest(user=user, guest_lines={variant_id_of(product): 4}) == []
        assert cart_lines(user) == {product.pk: 7}

    def test_a_total_above_the_stock_is_clamped_with_a_note(self, user):
        product = ProductFactory(stock=4, title="Tea Tin")
        put_in_cart(user, product, 2)
        notes = cart_merge_guest(user=user, guest_lines={variant_id_of(product): 5})
        assert cart_lines(user) == {product.pk: 4}
        assert notes == ["Tea Tin: your cart now has 4, not 7 (only 4 left in stock)."]

    def test_a_total_above_ten_is_clamped_with_a_note(self, user):
        product = ProductFactory(stock=100, title="Pencil")
        put_in_cart(user, product, 6)
        notes = cart_merge_guest(user=user, guest_lines={variant_id_of(product): 9})
        assert cart_lines(user) == {product.pk: 10}
        assert notes == ["Pencil: your cart now has 10, not 15 (at most 10 of a product per cart)."]

    def test_own_products_are_skipped_with_a_note(self, seller):
        own = ProductFactory(store=seller.store, title="My Mug")
        other = ProductFactory()
        notes = cart_merge_guest(user=seller, guest_lines={variant_id_of(own): 1, variant_id_of(other): 2})
        assert cart_lines(seller) == {other.pk: 2}
        assert notes == ["My Mug is sold by your store, so it was not added to your cart."]

    @pytest.mark.parametrize("how", HIDDEN)
    def test_hidden_products_are_skipped_with_a_note(self, user, product, how):
        hide(product, how)
        notes = cart_merge_guest(user=user, guest_lines={variant_id_of(product): 1})
        assert cart_lines(user) == {}
        assert len(notes) == 1
        assert "no longer available" in notes[0]

    def test_sold_out_products_are_skipped_with_a_note(self, user):
        product = ProductFactory(stock=0, title="Lamp")
        notes = cart_merge_guest(user=user, guest_lines={variant_id_of(product): 1})
        assert cart_lines(user) == {}
        assert notes == ["Lamp is out of stock, so it was not added to your cart."]

    def test_a_line_already_above_the_stock_is_never_lowered_by_a_merge(self, user):
        product = ProductFactory(stock=5)
        put_in_cart(user, product, 5)
        variant_update(only_variant(product), stock=2)
        notes = cart_merge_guest(user=user, guest_lines={variant_id_of(product): 1})
        assert cart_lines(user) == {product.pk: 5}
        assert len(notes) == 1

    def test_a_full_cart_takes_no_more_products(self, user, monkeypatch):
        monkeypatch.setattr(services, "MAX_LINES", 1)
        kept, extra = ProductFactory(), ProductFactory(title="Spare Bulb")
        notes = cart_merge_guest(user=user, guest_lines={variant_id_of(kept): 1, variant_id_of(extra): 1})
        assert cart_lines(user) == {kept.pk: 1}
        assert notes == ["Spare Bulb was not added: your cart already has 1 products."]

    def test_an_empty_guest_cart_creates_nothing(self, user):
        assert cart_merge_guest(user=user, guest_lines={}) == []
        assert not Cart.objects.filter(user=user).exists()


class TestGuestRules:
    """Guests get the same rules as shoppers, except own-product, which needs an account."""

    def test_add_and_raise(self, product):
        lines, added = guest_cart_item_add(lines={}, variant_id=variant_id_of(product), quantity=2)
        assert added == only_variant(product)
        lines, _ = guest_cart_item_add(lines=lines, variant_id=variant_id_of(product), quantity=3)
        assert lines == {variant_id_of(product): 5}

    def test_add_leaves_the_given_lines_untouched(self, product):
        before = {}
        guest_cart_item_add(lines=before, variant_id=variant_id_of(product), quantity=1)
        assert before == {}

    def test_raising_past_ten_is_invalid(self):
        product = ProductFactory(stock=50)
        with pytest.raises(InvalidQuantity, match="you already have 9"):
            guest_cart_item_add(lines={variant_id_of(product): 9}, variant_id=variant_id_of(product), quantity=2)

    @pytest.mark.parametrize("quantity", [0, 11, "abc", 2.5])
    def test_bad_quantities_are_invalid(self, product, quantity):
        with pytest.raises(InvalidQuantity):
            guest_cart_item_add(lines={}, variant_id=variant_id_of(product), quantity=quantity)

    def test_more_than_the_stock_is_out_of_stock(self):
        product = ProductFactory(stock=2)
        with pytest.raises(OutOfStock, match="Only 2"):
            guest_cart_item_add(lines={}, variant_id=variant_id_of(product), quantity=3)

    @pytest.mark.parametrize("how", HIDDEN)
    def test_hidden_products_are_unavailable(self, product, how):
        hide(product, how)
        with pytest.raises(ProductUnavailable):
            guest_cart_item_add(lines={}, variant_id=variant_id_of(product), quantity=1)

    def test_a_full_guest_cart_takes_no_new_product(self, product, monkeypatch):
        monkeypatch.setattr(services, "MAX_LINES", 1)
        other = ProductFactory()
        with pytest.raises(CartFull):
            guest_cart_item_add(lines={variant_id_of(other): 1}, variant_id=variant_id_of(product), quantity=1)

    def test_update_checks_stock_and_presence(self):
        product = ProductFactory(stock=3)
        lines, _ = guest_cart_item_update(
            lines={variant_id_of(product): 1}, variant_id=variant_id_of(product), quantity=3
        )
        assert lines == {variant_id_of(product): 3}
        with pytest.raises(OutOfStock):
            guest_cart_item_update(lines={variant_id_of(product): 1}, variant_id=variant_id_of(product), quantity=4)
        with pytest.raises(Http404):
            guest_cart_item_update(lines={}, variant_id=variant_id_of(product), quantity=1)

    def test_remove(self, product):
        assert guest_cart_item_remove(lines={variant_id_of(product): 2, 77: 1}, variant_id=variant_id_of(product)) == {
            77: 1
        }
        with pytest.raises(Http404):
            guest_cart_item_remove(lines={}, variant_id=variant_id_of(product))


class TestEachVariantIsItsOwnLine:
    """The rules hold per variant: two sizes of one product are two lines, each with its own limits."""

    def test_two_variants_of_one_product_are_two_lines(self, user):
        _, (small, large) = product_in_sizes("S", "L")
        cart_item_add(user=user, variant_id=small.pk, quantity=2)
        cart_item_add(user=user, variant_id=large.pk, quantity=3)
        cart_item_add(user=user, variant_id=small.pk, quantity=1)
        assert cart_variant_lines(user) == {small.pk: 3, large.pk: 3}

    def test_ten_of_each_variant(self, user):
        _, (small, large) = product_in_sizes("S", "L", title="Tee")
        variant_update(small, stock=50)
        variant_update(large, stock=50)
        cart_item_add(user=user, variant_id=small.pk, quantity=10)
        cart_item_add(user=user, variant_id=large.pk, quantity=10)
        with pytest.raises(InvalidQuantity, match=r"at most 10 of Tee \(S\) in your cart; you already have 10"):
            cart_item_add(user=user, variant_id=small.pk, quantity=1)
        assert cart_variant_lines(user) == {small.pk: 10, large.pk: 10}

    def test_the_stock_is_that_variants_not_the_products_total(self, user):
        product, (small, large) = product_in_sizes("S", "L", title="Tee")
        variant_update(small, stock=2)
        product.refresh_from_db()
        assert product.stock == 12  # enough in all, not in small
        with pytest.raises(OutOfStock, match=r"^Only 2 of Tee \(S\) left in stock\.$"):
            cart_item_add(user=user, variant_id=small.pk, quantity=3)
        cart_item_add(user=user, variant_id=large.pk, quantity=3)
        assert cart_variant_lines(user) == {large.pk: 3}

    def test_a_sold_out_variant_says_so_while_its_sibling_sells(self, user):
        _, (small, large) = product_in_sizes("S", "L", title="Tee")
        variant_update(small, stock=0)
        with pytest.raises(OutOfStock, match=r"^Tee \(S\) is out of stock\.$"):
            cart_item_add(user=user, variant_id=small.pk, quantity=1)
        cart_item_add(user=user, variant_id=large.pk, quantity=1)
        assert cart_variant_lines(user) == {large.pk: 1}

    def test_update_checks_that_variants_stock(self, user):
        _, (small, large) = product_in_sizes("S", "L")
        variant_update(small, stock=3)
        item = put_in_cart(user, small, 1)
        put_in_cart(user, large, 1)
        with pytest.raises(OutOfStock, match="Only 3"):
            cart_item_update(user=user, item_id=item.pk, quantity=4)
        cart_item_update(user=user, item_id=item.pk, quantity=3)
        assert cart_variant_lines(user) == {small.pk: 3, large.pk: 1}

    def test_no_variant_of_your_own_product(self, seller):
        _, (small, large) = product_in_sizes("S", "L", store=seller.store, title="My Tee")
        for variant in (small, large):
            with pytest.raises(OwnProduct, match="My Tee is sold by your store"):
                cart_item_add(user=seller, variant_id=variant.pk, quantity=1)
        assert cart_variant_lines(seller) == {}

    def test_an_inactive_variant_is_unavailable_and_its_sibling_is_not(self, user):
        _, (small, large) = product_in_sizes("S", "L")
        variant_update(small, is_active=False)
        with pytest.raises(ProductUnavailable) as exc:
            cart_item_add(user=user, variant_id=small.pk, quantity=1)
        assert exc.value.code == "product_unavailable"
        cart_item_add(user=user, variant_id=large.pk, quantity=1)
        assert cart_variant_lines(user) == {large.pk: 1}

    def test_a_line_whose_variant_was_deactivated_says_to_remove_it(self, user):
        _, (small, _large) = product_in_sizes("S", "L", title="Tee")
        item = put_in_cart(user, small, 1)
        variant_update(small, is_active=False)
        with pytest.raises(ProductUnavailable, match=r"^Tee \(S\) is no longer available\. Remove it"):
            cart_item_update(user=user, item_id=item.pk, quantity=2)
        assert cart_variant_lines(user) == {small.pk: 1}

    @pytest.mark.parametrize("how", HIDDEN)
    def test_no_variant_of_a_hidden_product(self, user, how):
        product, (small, large) = product_in_sizes("S", "L")
        hide(product, how)
        for variant in (small, large):
            with pytest.raises(ProductUnavailable):
                cart_item_add(user=user, variant_id=variant.pk, quantity=1)
            with pytest.raises(ProductUnavailable):
                guest_cart_item_add(lines={}, variant_id=variant.pk, quantity=1)
        assert cart_variant_lines(user) == {}

    def test_a_guest_cart_holds_two_variants_of_one_product(self):
        _, (small, large) = product_in_sizes("S", "L")
        lines, _ = guest_cart_item_add(lines={}, variant_id=small.pk, quantity=2)
        lines, added = guest_cart_item_add(lines=lines, variant_id=large.pk, quantity=1)
        assert added == large
        assert lines == {small.pk: 2, large.pk: 1}
        lines, _ = guest_cart_item_update(lines=lines, variant_id=large.pk, quantity=4)
        assert lines == {small.pk: 2, large.pk: 4}
        assert guest_cart_item_remove(lines=lines, variant_id=small.pk) == {large.pk: 4}

    def test_guest_rules_are_per_variant_too(self):
        _, (small, large, extra_large) = product_in_sizes("S", "L", "XL", title="Tee")
        variant_update(small, stock=2)
        variant_update(extra_large, is_active=False)
        with pytest.raises(OutOfStock, match=r"Only 2 of Tee \(S\)"):
            guest_cart_item_add(lines={large.pk: 1}, variant_id=small.pk, quantity=3)
        with pytest.raises(OutOfStock, match=r"Only 2 of Tee \(S\)"):
            guest_cart_item_update(lines={small.pk: 1}, variant_id=small.pk, quantity=3)
        with pytest.raises(InvalidQuantity, match="you already have 9"):
            guest_cart_item_add(lines={large.pk: 9, small.pk: 1}, variant_id=large.pk, quantity=2)
        with pytest.raises(ProductUnavailable):
            guest_cart_item_add(lines={large.pk: 1}, variant_id=extra_large.pk, quantity=1)

    def test_a_merge_keeps_two_variants_of_one_product_apart(self, user):
        _, (small, large) = product_in_sizes("S", "L", title="Tee")
        put_in_cart(user, small, 9)
        notes = cart_merge_guest(user=user, guest_lines={small.pk: 3, large.pk: 4})
        assert cart_variant_lines(user) == {small.pk: 10, large.pk: 4}
        assert notes == ["Tee (S): your cart now has 10, not 12 (at most 10 of a product per cart)."]

    def test_a_merge_clamps_to_that_variants_stock_and_skips_an_inactive_one(self, user):
        _, (small, large, extra_large) = product_in_sizes("S", "L", "XL", title="Tee")
        variant_update(small, stock=2)
        variant_update(extra_large, is_active=False)
        notes = cart_merge_guest(user=user, guest_lines={small.pk: 5, large.pk: 5, extra_large.pk: 1})
        assert cart_variant_lines(user) == {small.pk: 2, large.pk: 5}
        assert notes == [
            "Tee (S): your cart now has 2, not 5 (only 2 left in stock).",
            "A product you added before logging in is no longer available, so it was not added.",
        ]


class TestVariantIdResolve:
    """`product_id` stands for a variant only when the product has exactly one that can be bought."""

    def test_a_product_with_one_variant_names_it(self, product):
        assert variant_id_resolve(variant_id=None, product_id=product.pk) == variant_id_of(product)

    def test_a_product_with_several_variants_needs_one_chosen(self):
        product, _ = product_in_sizes("S", "L")
        with pytest.raises(VariantRequired) as exc:
            variant_id_resolve(variant_id=None, product_id=product.pk)
        assert exc.value.code == "variant_required"
        assert exc.value.status_code == 400

    def test_the_one_variant_still_active_is_the_one(self):
        product, (small, large) = product_in_sizes("S", "L")
        variant_update(small, is_active=False)
        assert variant_id_resolve(variant_id=None, product_id=product.pk) == large.pk

    def test_a_product_with_no_active_variant_is_unavailable(self, product):
        variant_update(only_variant(product), is_active=False)
        with pytest.raises(ProductUnavailable):
            variant_id_resolve(variant_id=None, product_id=product.pk)

    @pytest.mark.parametrize("how", HIDDEN)
    def test_a_hidden_product_is_unavailable(self, product, how):
        hide(product, how)
        with pytest.raises(ProductUnavailable):
            variant_id_resolve(variant_id=None, product_id=product.pk)

    @pytest.mark.parametrize("product_id", [999_999, 0, -5, 2**70])
    def test_an_unknown_product_is_unavailable(self, product_id):
        with pytest.raises(ProductUnavailable):
            variant_id_resolve(variant_id=None, product_id=product_id)
