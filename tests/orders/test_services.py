"""Checkout and the item lifecycle, through the services every interface calls."""

import re
from decimal import Decimal

import pytest

from accounts.errors import AccountBlocked
from cart.errors import InvalidQuantity, OutOfStock, OwnProduct, ProductUnavailable
from cart.models import CartItem
from catalog.errors import ProductHasOpenOrders
from catalog.models import Product, ProductOption, ProductVariant
from catalog.services.products import product_delete
from catalog.services.summary import product_summary_refresh
from joycart.errors import NotFound
from orders.errors import (
    CartEmpty,
    IdempotencyKeyRequired,
    IdempotencyKeyReused,
    InvalidAddress,
    InvalidCheckout,
    InvalidShipment,
    InvalidTransition,
    PaymentMethodUnavailable,
    ReasonRequired,
    TransitionNotAllowed,
)
from orders.models import ActorRole, Order, OrderEvent, OrderItem, OrderItemStatus, OrderStatus
from orders.services.checkout import checkout_place
from orders.services.lifecycle import (
    order_item_cancel,
    order_item_confirm,
    order_item_deliver,
    order_item_ship,
    order_item_transition,
    order_status_derive,
)
from payments.models import Payment, PaymentStatus
from tests.cart.helpers import HIDDEN, hide
from tests.factories import (
    AddressFactory,
    ProductFactory,
    StoreFactory,
    UserFactory,
    VariantFactory,
    only_variant,
    variant_update,
)
from tests.orders.helpers import (
    buy_now,
    checkout_cart,
    items_of,
    make_buyer,
    new_key,
    order_of,
    put_in_cart,
    stock_of,
)

pytestmark = pytest.mark.django_db

S = OrderItemStatus


def nothing_placed() -> bool:
    return not (Order.objects.exists() or OrderItem.objects.exists() or Payment.objects.exists())


def set_status(item: OrderItem, status: str) -> None:
    OrderItem.objects.filter(pk=item.pk).update(status=status)


# --- Checkout ---------------------------------------------------------------------------


class TestBuyNow:
    def test_places_a_cod_order_with_snapshots_payment_and_events(self, buyer, product, store):
        order = buy_now(buyer, product, 3)

        order.refresh_from_db()
        assert order.number == f"JC-{order.pk:06d}"
        assert re.fullmatch(r"JC-\d{6,}", order.number)
        assert order.status == OrderStatus.PLACED
        assert order.payment_method == "COD"
        assert order.total == Decimal("1497.00")
        [item] = items_of(order)
        variant = only_variant(product)
        assert (item.product, item.variant, item.seller, item.title) == (product, variant, store, product.title)
        assert (item.sku, item.options) == (variant.sku, "")
        assert (item.unit_price, item.quantity, item.status) == (Decimal("499.00"), 3, S.PLACED)
        payment = Payment.objects.get(order=order)
        assert (payment.method, payment.status, payment.amount) == ("COD", PaymentStatus.PENDING, Decimal("1497.00"))
        [event] = OrderEvent.objects.filter(order=order)
        assert (event.item, event.actor, event.actor_role) == (item, buyer, ActorRole.BUYER)
        assert (event.from_status, event.to_status) == ("", S.PLACED)
        assert stock_of(product) == 7

    def test_snapshots_the_address(self, buyer, product):
        address = buyer.address
        order = buy_now(buyer, product)
        address.line1, address.city = "99 New Road", "Pune"
        address.save()
        address.delete()
        order.refresh_from_db()
        assert (order.ship_name, order.ship_line1, order.ship_city) == ("Test Person", "1 Test Street", "Mumbai")
        assert (order.ship_state, order.ship_pincode, order.ship_phone) == ("MH", "400001", "9876543210")

    def test_the_item_keeps_its_price_and_title_when_the_product_changes(self, buyer, product):
        order = buy_now(buyer, product)
        sku = only_variant(product).sku
        Product.objects.filter(pk=product.pk).update(title="Renamed")
        variant_update(only_variant(product), price=Decimal("999.00"), sku="NEW-1")
        [item] = items_of(order)
        assert (item.title, item.unit_price, item.sku) == (product.title, Decimal("499.00"), sku)

    def test_leaves_the_cart_untouched(self, buyer, product):
        other = ProductFactory()
        put_in_cart(buyer, product, 2)
        put_in_cart(buyer, other, 1)
        buy_now(buyer, product, 1)
        assert dict(CartItem.objects.filter(cart__user=buyer).values_list("variant__product_id", "quantity")) == {
            product.pk: 2,
            other.pk: 1,
        }

    def test_quantity_defaults_to_one(self, buyer, product):
        order, _ = checkout_place(
            buyer=buyer,
            source="buy_now",
            variant_id=only_variant(product).pk,
            address_id=buyer.address.pk,
            payment_method="COD",
            idempotency_key=new_key(),
        )
        assert items_of(order)[0].quantity == 1

    def test_numbers_are_unique_and_readable(self, product):
        numbers = {buy_now(make_buyer(), product).number for _ in range(3)}
        assert len(numbers) == 3
        assert all(re.fullmatch(r"JC-\d{6}", number) for number in numbers)


class TestCartCheckout:
    def test_orders_every_line_from_several_sellers_and_empties_the_cart(self, buyer, product):
        second = ProductFactory(price=Decimal("120.50"), stock=4)
        put_in_cart(buyer, product, 2)
        put_in_cart(buyer, second, 4)

        order = checkout_cart(buyer)

        assert order.total == Decimal("1480.00")  # 2 x 499 + 4 x 120.50
        items = items_of(order)
        assert {(item.product_id, item.quantity, item.seller_id) for item in items} == {
            (product.pk, 2, product.store_id),
            (second.pk, 4, second.store_id),
        }
        assert OrderEvent.objects.filter(order=order, to_status=S.PLACED).count() == 2
        assert not CartItem.objects.filter(cart__user=buyer).exists()
        assert (stock_of(product), stock_of(second)) == (8, 0)

    def test_prices_come_from_the_catalog_at_checkout(self, buyer, product):
        put_in_cart(buyer, product, 2)
        variant_update(only_variant(product), price=Decimal("450.00"))
        order = checkout_cart(buyer)
        assert order.total == Decimal("900.00")
        assert items_of(order)[0].unit_price == Decimal("450.00")

    def test_an_empty_cart_is_refused(self, buyer):
        with pytest.raises(CartEmpty):
            checkout_cart(buyer)
        assert nothing_placed()

    def test_one_bad_line_refuses_the_whole_checkout_and_takes_nothing(self, buyer, product):
        short = ProductFactory(title="Brass lamp", stock=5)
        put_in_cart(buyer, product, 2)
        put_in_cart(buyer, short, 4)
        variant_update(only_variant(short), stock=3)

        with pytest.raises(OutOfStock, match=re.escape("Only 3 of Brass lamp left in stock.")):
            checkout_cart(buyer)

        assert nothing_placed()
        assert (stock_of(product), stock_of(short)) == (10, 3)
        assert CartItem.objects.filter(cart__user=buyer).count() == 2

    @pytest.mark.parametrize("how", HIDDEN)
    def test_a_line_no_longer_on_sale_is_named(self, buyer, product, how):
        put_in_cart(buyer, product)
        hide(product, how)
        with pytest.raises(ProductUnavailable, match=re.escape(f"{product.title} is no longer available")):
            checkout_cart(buyer)
        assert nothing_placed()

    def test_a_product_that_became_the_buyers_own_is_refused(self, buyer, product):
        put_in_cart(buyer, product)
        Product.objects.filter(pk=product.pk).update(store=StoreFactory(user=buyer))
        with pytest.raises(OwnProduct):
            checkout_cart(buyer)
        assert nothing_placed()


class TestCheckoutRefusals:
    def test_another_users_address_is_refused_like_a_missing_one(self, buyer, product):
        someone_elses = AddressFactory()
        for address_id in (someone_elses.pk, 999_999):
            with pytest.raises(InvalidAddress):
                checkout_place(
                    buyer=buyer,
                    source="buy_now",
                    variant_id=only_variant(product).pk,
                    quantity=1,
                    address_id=address_id,
                    payment_method="COD",
                    idempotency_key=new_key(),
                )
        assert nothing_placed()
        assert stock_of(product) == 10

    def test_own_product(self, product):
        seller = product.store.user
        seller.address = AddressFactory(user=seller)
        with pytest.raises(OwnProduct):
            buy_now(seller, product)
        assert nothing_placed()

    @pytest.mark.parametrize("how", HIDDEN)
    def test_hidden_products(self, buyer, product, how):
        hide(product, how)
        with pytest.raises(ProductUnavailable):
            buy_now(buyer, product)
        assert nothing_placed()

    def test_unknown_product(self, buyer):
        with pytest.raises(ProductUnavailable):
            checkout_place(
                buyer=buyer,
                source="buy_now",
                variant_id=987_654,
                quantity=1,
                address_id=buyer.address.pk,
                payment_method="COD",
                idempotency_key=new_key(),
            )

    @pytest.mark.parametrize("quantity", [0, 11, -1, "x", 2.5, True])
    def test_quantities_outside_1_to_10(self, buyer, product, quantity):
        with pytest.raises(InvalidQuantity):
            buy_now(buyer, product, quantity)
        assert nothing_placed()

    def test_more_than_the_stock_names_the_product_and_what_is_left(self, buyer):
        product = ProductFactory(title="Clay pot", stock=3)
        with pytest.raises(OutOfStock, match=re.escape("Only 3 of Clay pot left in stock.")):
            buy_now(buyer, product, 5)
        variant_update(only_variant(product), stock=0)
        with pytest.raises(OutOfStock, match=re.escape("Clay pot is out of stock.")):
            buy_now(buyer, product, 1)
        assert nothing_placed()

    @pytest.mark.parametrize("method", ["UPI", "online", ""])
    def test_only_cash_on_delivery_and_online(self, buyer, product, method):
        with pytest.raises(PaymentMethodUnavailable):
            checkout_place(
                buyer=buyer,
                source="buy_now",
                variant_id=only_variant(product).pk,
                address_id=buyer.address.pk,
                payment_method=method,
                idempotency_key=new_key(),
            )
        assert nothing_placed()

    def test_unknown_source(self, buyer, product):
        with pytest.raises(InvalidCheckout):
            checkout_place(
                buyer=buyer, source="wishlist", address_id=buyer.address.pk, payment_method="COD", idempotency_key="k"
            )

    def test_a_blocked_buyer_cannot_order(self, buyer, product):
        buyer.is_blocked = True
        with pytest.raises(AccountBlocked):
            buy_now(buyer, product)
        assert nothing_placed()


class TestIdempotency:
    def test_the_same_request_twice_returns_the_same_order_and_takes_stock_once(self, buyer, product):
        key = new_key()
        kwargs = {
            "buyer": buyer,
            "source": "buy_now",
            "variant_id": only_variant(product).pk,
            "quantity": 2,
            "address_id": buyer.address.pk,
            "payment_method": "COD",
            "idempotency_key": key,
        }
        first, created = checkout_place(**kwargs)
        again, created_again = checkout_place(**kwargs)
        assert (created, created_again) == (True, False)
        assert again.pk == first.pk
        assert Order.objects.count() == 1 and OrderItem.objects.count() == 1 and Payment.objects.count() == 1
        assert stock_of(product) == 8

    def test_a_cart_retry_after_success_returns_the_order_not_cart_empty(self, buyer, product):
        put_in_cart(buyer, product, 2)
        key = new_key()
        first = checkout_cart(buyer, key=key)
        assert checkout_cart(buyer, key=key).pk == first.pk

    def test_the_same_key_with_another_body_is_refused(self, buyer, product):
        key = new_key()
        buy_now(buyer, product, 1, key=key)
        with pytest.raises(IdempotencyKeyReused):
            buy_now(buyer, product, 2, key=key)
        assert Order.objects.count() == 1
        assert stock_of(product) == 9

    def test_keys_belong_to_one_buyer(self, buyer, product):
        other = make_buyer()
        key = new_key()
        assert buy_now(buyer, product, key=key).pk != buy_now(other, product, key=key).pk

    @pytest.mark.parametrize("key", [None, "", "   ", "k" * 101, "tab\tkey", "ключ"])
    def test_a_missing_or_malformed_key_is_refused(self, buyer, product, key):
        with pytest.raises(IdempotencyKeyRequired):
            checkout_place(
                buyer=buyer,
                source="buy_now",
                variant_id=only_variant(product).pk,
                address_id=buyer.address.pk,
                payment_method="COD",
                idempotency_key=key,
            )
        assert nothing_placed()


def test_selling_out_shows_on_the_product_page_at_once(client, buyer, django_capture_on_commit_callbacks):
    product = ProductFactory(stock=2)
    assert client.get(f"/api/v1/products/{product.pk}/").json()["in_stock"] is True
    with django_capture_on_commit_callbacks(execute=True):
        buy_now(buyer, product, 2)
    assert client.get(f"/api/v1/products/{product.pk}/").json()["in_stock"] is False


# --- Lifecycle --------------------------------------------------------------------------


@pytest.fixture
def item(buyer, product) -> OrderItem:
    """A PLACED item: 3 of `product` (stock 7 afterwards)."""
    return items_of(buy_now(buyer, product, 3))[0]


@pytest.fixture
def seller(store):
    return store.user


class TestFulfilment:
    def test_confirm_ship_deliver_with_timeline_status_and_collected_payment(self, item, seller, buyer):
        order_item_confirm(item_id=item.pk, actor=seller)
        order_item_ship(item_id=item.pk, actor=seller, carrier=" BlueDart ", tracking_number="BD123")
        moved = order_item_deliver(item_id=item.pk, actor=seller)

        item.refresh_from_db()
        assert (item.status, item.carrier, item.tracking_number) == (S.DELIVERED, "BlueDart", "BD123")
        assert moved.order.status == OrderStatus.COMPLETED
        assert Order.objects.get(pk=item.order_id).status == OrderStatus.COMPLETED
        payment = Payment.objects.get(order_id=item.order_id)
        assert payment.status == PaymentStatus.COLLECTED and payment.collected_at is not None
        assert payment.amount == Decimal("1497.00")
        timeline = list(
            OrderEvent.objects.filter(item=item).values_list("actor", "actor_role", "from_status", "to_status")
        )
        assert timeline == [
            (buyer.pk, ActorRole.BUYER, "", S.PLACED),
            (seller.pk, ActorRole.SELLER, S.PLACED, S.CONFIRMED),
            (seller.pk, ActorRole.SELLER, S.CONFIRMED, S.SHIPPED),
            (seller.pk, ActorRole.SELLER, S.SHIPPED, S.DELIVERED),
        ]

    def test_a_placed_item_cannot_skip_to_shipped(self, item, seller):
        with pytest.raises(InvalidTransition, match="is placed and cannot be shipped now"):
            order_item_ship(item_id=item.pk, actor=seller)
        item.refresh_from_db()
        assert item.status == S.PLACED

    def test_carrier_and_tracking_are_limited(self, item, seller):
        order_item_confirm(item_id=item.pk, actor=seller)
        with pytest.raises(InvalidShipment):
            order_item_ship(item_id=item.pk, actor=seller, tracking_number="x" * 61)


class TestCancelling:
    @pytest.mark.parametrize("who", ["buyer", "seller", "staff"])
    def test_restores_stock_and_records_the_reason(self, item, product, buyer, seller, who):
        actor = {"buyer": buyer, "seller": seller, "staff": UserFactory(is_staff=True)}[who]
        order_item_cancel(item_id=item.pk, actor=actor, reason="  Ordered by mistake ")
        item.refresh_from_db()
        assert item.status == S.CANCELLED
        assert stock_of(product) == 10
        event = OrderEvent.objects.get(item=item, to_status=S.CANCELLED)
        assert (event.actor, event.actor_role, event.from_status) == (actor, who.upper(), S.PLACED)
        assert event.reason == "Ordered by mistake"

    def test_a_confirmed_item_can_be_cancelled(self, item, product, buyer, seller):
        order_item_confirm(item_id=item.pk, actor=seller)
        order_item_cancel(item_id=item.pk, actor=buyer, reason="Found it cheaper")
        assert stock_of(product) == 10

    def test_cancelling_twice_restores_stock_once(self, item, product, buyer):
        order_item_cancel(item_id=item.pk, actor=buyer, reason="No longer needed")
        with pytest.raises(InvalidTransition):
            order_item_cancel(item_id=item.pk, actor=buyer, reason="No longer needed")
        assert stock_of(product) == 10
        assert OrderEvent.objects.filter(item=item, to_status=S.CANCELLED).count() == 1

    @pytest.mark.parametrize("status", [S.SHIPPED, S.DELIVERED])
    def test_shipped_or_delivered_items_cannot_be_cancelled(self, item, product, buyer, status):
        set_status(item, status)
        with pytest.raises(InvalidTransition) as refused:
            order_item_cancel(item_id=item.pk, actor=buyer, reason="Too late")
        assert refused.value.status_code == 409 and refused.value.code == "invalid_transition"
        assert stock_of(product) == 7

    @pytest.mark.parametrize("reason", ["", "   ", "x" * 501, None])
    def test_a_reason_is_required(self, item, buyer, reason):
        with pytest.raises(ReasonRequired):
            order_item_cancel(item_id=item.pk, actor=buyer, reason=reason)
        item.refresh_from_db()
        assert item.status == S.PLACED


class TestWhoMayAct:
    def test_a_buyer_cannot_confirm_ship_or_deliver_their_own_item(self, item, buyer):
        for status in (S.PLACED, S.CONFIRMED, S.SHIPPED):
            set_status(item, status)
            for move in (order_item_confirm, order_item_ship):
                with pytest.raises(TransitionNotAllowed) as refused:
                    move(item_id=item.pk, actor=buyer)
                assert refused.value.status_code == 403
            # A buyer does move an item back to DELIVERED (withdrawing a return request), so
            # delivering it is "not now" (409) rather than "never yours" (403).
            with pytest.raises(InvalidTransition) as refused:
                order_item_deliver(item_id=item.pk, actor=buyer)
            assert refused.value.status_code == 409
            item.refresh_from_db()
            assert item.status == status

    def test_another_seller_cannot_touch_the_item_and_learns_nothing(self, item):
        stranger = StoreFactory().user
        for move in (order_item_confirm, order_item_ship, order_item_deliver):
            with pytest.raises(NotFound):
                move(item_id=item.pk, actor=stranger)
        with pytest.raises(NotFound):
            order_item_cancel(item_id=item.pk, actor=stranger, reason="Not mine")
        item.refresh_from_db()
        assert item.status == S.PLACED

    def test_another_buyer_cannot_cancel(self, item):
        with pytest.raises(NotFound):
            order_item_cancel(item_id=item.pk, actor=make_buyer(), reason="Not mine")

    def test_claiming_a_role_you_do_not_have_is_not_found(self, item, buyer):
        with pytest.raises(NotFound):
            order_item_confirm(item_id=item.pk, actor=buyer, role=ActorRole.SELLER)
        with pytest.raises(NotFound):
            order_item_cancel(item_id=item.pk, actor=buyer, role=ActorRole.STAFF, reason="x")
        with pytest.raises(NotFound):
            order_item_transition(item_id=item.pk, to_status=S.CONFIRMED, actor=buyer, role=ActorRole.SYSTEM)

    def test_staff_cannot_confirm_or_ship_but_can_deliver(self, item):
        staff = UserFactory(is_staff=True)
        with pytest.raises(TransitionNotAllowed):
            order_item_confirm(item_id=item.pk, actor=staff)
        set_status(item, S.CONFIRMED)
        with pytest.raises(TransitionNotAllowed):
            order_item_ship(item_id=item.pk, actor=staff)
        set_status(item, S.SHIPPED)
        order_item_deliver(item_id=item.pk, actor=staff)
        item.refresh_from_db()
        assert item.status == S.DELIVERED

    def test_a_blocked_seller_can_do_nothing(self, item, seller):
        seller.is_blocked = True
        with pytest.raises(AccountBlocked):
            order_item_confirm(item_id=item.pk, actor=seller)

    @pytest.mark.parametrize("item_id", [0, -3, 10**20, "1", None])
    def test_bad_item_ids_are_not_found(self, buyer, item_id):
        with pytest.raises(NotFound):
            order_item_cancel(item_id=item_id, actor=buyer, reason="x")


# Written out by hand, not read from orders.transitions: this is the lifecycle as the shop promises it.
ALLOWED = {
    (S.PENDING_PAYMENT, S.PLACED, ActorRole.SYSTEM),
    (S.PENDING_PAYMENT, S.CANCELLED, ActorRole.SYSTEM),
    (S.PLACED, S.CONFIRMED, ActorRole.SELLER),
    (S.CONFIRMED, S.SHIPPED, ActorRole.SELLER),
    (S.SHIPPED, S.DELIVERED, ActorRole.SELLER),
    (S.SHIPPED, S.DELIVERED, ActorRole.STAFF),
    *{(source, S.CANCELLED, role) for source in (S.PLACED, S.CONFIRMED) for role in ("BUYER", "SELLER", "STAFF")},
    # Returns: the buyer asks within the window, or takes the request back before a decision.
    (S.DELIVERED, S.RETURN_REQUESTED, ActorRole.BUYER),
    (S.RETURN_REQUESTED, S.DELIVERED, ActorRole.BUYER),
    # The seller or staff decide; the system approves what the seller left unanswered.
    *{(S.RETURN_REQUESTED, S.RETURN_APPROVED, role) for role in ("SELLER", "STAFF", "SYSTEM")},
    *{(S.RETURN_REQUESTED, S.RETURN_REJECTED, role) for role in ("SELLER", "STAFF")},
    # A refusal: the buyer escalates it once; staff overturn or uphold it.
    (S.RETURN_REJECTED, S.RETURN_ESCALATED, ActorRole.BUYER),
    (S.RETURN_REJECTED, S.RETURN_APPROVED, ActorRole.STAFF),
    (S.RETURN_ESCALATED, S.RETURN_APPROVED, ActorRole.STAFF),
    (S.RETURN_ESCALATED, S.RETURN_REJECTED, ActorRole.STAFF),
    # The item comes back; it is RETURNED when its money is (the refund's webhook, or staff paying a payout).
    *{(S.RETURN_APPROVED, S.RETURN_RECEIVED, role) for role in ("SELLER", "STAFF")},
    *{(S.RETURN_RECEIVED, S.RETURNED, role) for role in ("SYSTEM", "STAFF")},
}


@pytest.mark.parametrize("role", ActorRole.values)
@pytest.mark.parametrize("to_status", S.values)
@pytest.mark.parametrize("from_status", S.values)
def test_every_move_by_every_role_follows_the_table(item, buyer, seller, from_status, to_status, role):
    actor = {"BUYER": buyer, "SELLER": seller, "STAFF": UserFactory(is_staff=True), "SYSTEM": None}[role]
    set_status(item, from_status)
    try:
        order_item_transition(item_id=item.pk, to_status=to_status, actor=actor, role=role, reason="Because")
    except (InvalidTransition, TransitionNotAllowed):
        moved = False
    else:
        moved = True
    item.refresh_from_db()
    assert moved == ((from_status, to_status, role) in ALLOWED)
    assert item.status == (to_status if moved else from_status)


def test_the_system_moves_online_items_after_payment(item):
    set_status(item, S.PENDING_PAYMENT)
    moved = order_item_transition(item_id=item.pk, to_status=S.PLACED, actor=None)
    assert moved.order.status == OrderStatus.PLACED
    event = OrderEvent.objects.filter(item=item).last()
    assert (event.actor, event.actor_role) == (None, ActorRole.SYSTEM)


# --- Order status and COD payment ---------------------------------------------------------


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        ([S.PLACED], OrderStatus.PLACED),
        ([S.PLACED, S.CONFIRMED, S.SHIPPED, S.DELIVERED], OrderStatus.PLACED),
        ([S.PENDING_PAYMENT, S.PENDING_PAYMENT], OrderStatus.PENDING_PAYMENT),
        ([S.CANCELLED, S.PLACED], OrderStatus.PARTIALLY_CANCELLED),
        ([S.CANCELLED, S.DELIVERED, S.SHIPPED], OrderStatus.PARTIALLY_CANCELLED),
        ([S.CANCELLED, S.CANCELLED], OrderStatus.CANCELLED),
        ([S.DELIVERED, S.DELIVERED], OrderStatus.COMPLETED),
        ([S.CANCELLED, S.DELIVERED], OrderStatus.COMPLETED),
    ],
)
def test_order_status_is_derived_from_the_items(statuses, expected):
    assert order_status_derive(statuses) == expected


class TestCashOnDelivery:
    @pytest.fixture
    def three(self, buyer):
        """An order of three items worth ₹100, ₹200 and ₹300, from two sellers."""
        store = StoreFactory()
        products = [
            ProductFactory(store=store, price=Decimal("100.00")),
            ProductFactory(store=store, price=Decimal("200.00")),
            ProductFactory(price=Decimal("300.00")),
        ]
        order = order_of(buyer, dict.fromkeys(products, 1))
        return order, items_of(order)

    def state(self, order):
        order.refresh_from_db()
        payment = Payment.objects.get(order=order)
        return order.status, payment.status, payment.amount

    def deliver(self, item):
        seller = item.seller.user
        order_item_confirm(item_id=item.pk, actor=seller)
        order_item_ship(item_id=item.pk, actor=seller)
        order_item_deliver(item_id=item.pk, actor=seller)

    def test_mixed_deliveries_and_cancellations(self, three, buyer):
        order, (a, b, c) = three
        assert self.state(order) == (OrderStatus.PLACED, PaymentStatus.PENDING, Decimal("600.00"))

        order_item_cancel(item_id=a.pk, actor=buyer, reason="Changed my mind")
        assert self.state(order) == (OrderStatus.PARTIALLY_CANCELLED, PaymentStatus.PENDING, Decimal("500.00"))

        self.deliver(b)
        assert self.state(order) == (OrderStatus.PARTIALLY_CANCELLED, PaymentStatus.PENDING, Decimal("500.00"))
        assert Payment.objects.get(order=order).collected_at is None

        self.deliver(c)
        assert self.state(order) == (OrderStatus.COMPLETED, PaymentStatus.COLLECTED, Decimal("500.00"))
        assert Payment.objects.get(order=order).collected_at is not None
        order.refresh_from_db()
        assert order.total == Decimal("600.00")  # what was ordered; the payment says what is due

    def test_cancelling_the_last_open_item_collects_for_the_delivered_ones(self, three, buyer):
        order, (a, b, c) = three
        self.deliver(a)
        self.deliver(b)
        assert self.state(order) == (OrderStatus.PLACED, PaymentStatus.PENDING, Decimal("600.00"))
        order_item_cancel(item_id=c.pk, actor=c.seller.user, reason="Damaged in the warehouse")
        assert self.state(order) == (OrderStatus.COMPLETED, PaymentStatus.COLLECTED, Decimal("300.00"))

    def test_everything_cancelled_needs_no_payment(self, three, buyer):
        order, items = three
        for item in items:
            order_item_cancel(item_id=item.pk, actor=buyer, reason="Ordered twice")
        assert self.state(order) == (OrderStatus.CANCELLED, PaymentStatus.NOT_REQUIRED, Decimal("0.00"))


# --- Deleting a product that has orders ---------------------------------------------------


class TestProductDeleteGuard:
    @pytest.mark.parametrize("status", [S.PLACED, S.CONFIRMED, S.SHIPPED, S.PENDING_PAYMENT])
    def test_a_product_with_open_items_cannot_be_deleted(self, item, product, status):
        set_status(item, status)
        with pytest.raises(ProductHasOpenOrders) as refused:
            product_delete(product=product)
        assert refused.value.status_code == 409
        product.refresh_from_db()
        assert product.is_active is True

    @pytest.mark.parametrize("status", [S.DELIVERED, S.CANCELLED])
    def test_a_product_whose_sales_are_settled_is_deactivated(self, item, product, status):
        set_status(item, status)
        assert product_delete(product=product) is False
        product.refresh_from_db()
        assert product.is_active is False
        item.refresh_from_db()
        assert item.title == product.title

    def test_a_product_that_never_sold_is_deleted(self, product):
        assert product_delete(product=product) is True
        assert not Product.objects.filter(pk=product.pk).exists()


class TestVariants:
    """An order holds the variant bought; its stock is the variant's, taken and given back."""

    @pytest.fixture
    def kurta(self):
        kurta = ProductFactory(title="Cotton kurta", sku="KURTA-M-BLU", price=Decimal("799.00"), stock=5)
        ProductOption.objects.create(product=kurta, position=1, name="Size", values=["M", "L"])
        ProductOption.objects.create(product=kurta, position=2, name="Colour", values=["Blue"])
        ProductVariant.objects.filter(product=kurta).update(option1="M", option2="Blue")
        VariantFactory(product=kurta, sku="KURTA-L-BLU", option1="L", option2="Blue", price=Decimal("849.00"), stock=3)
        product_summary_refresh(product_ids=[kurta.pk])
        return kurta

    def test_the_item_snapshots_the_variant_and_cancelling_restocks_that_variant_only(self, buyer, kurta):
        medium, large = kurta.variants.order_by("pk")
        order = buy_now(buyer, large, 2)
        [item] = items_of(order)
        assert (item.variant, item.sku, item.options, item.unit_price) == (
            large,
            "KURTA-L-BLU",
            "Size: L, Colour: Blue",
            Decimal("849.00"),
        )
        assert item.name == "Cotton kurta (Size: L, Colour: Blue)"
        medium.refresh_from_db()
        large.refresh_from_db()
        kurta.refresh_from_db()
        assert (medium.stock, large.stock, kurta.stock) == (5, 1, 6)

        order_item_cancel(item_id=item.pk, actor=buyer, reason="Wrong size")

        medium.refresh_from_db()
        large.refresh_from_db()
        kurta.refresh_from_db()
        assert (medium.stock, large.stock, kurta.stock) == (5, 3, 8)

    def test_buy_now_of_an_inactive_variant_is_refused_while_its_sibling_sells(self, buyer, kurta):
        medium, large = kurta.variants.order_by("pk")
        ProductVariant.objects.filter(pk=large.pk).update(is_active=False)
        with pytest.raises(ProductUnavailable):
            buy_now(buyer, large)
        assert items_of(buy_now(buyer, medium))[0].variant == medium

    def test_a_cart_with_two_variants_of_one_product_makes_two_items(self, buyer, kurta):
        medium, large = kurta.variants.order_by("pk")
        put_in_cart(buyer, medium, 1)
        put_in_cart(buyer, large, 2)
        order = checkout_cart(buyer)
        assert [(item.variant_id, item.quantity, item.options) for item in items_of(order)] == [
            (medium.pk, 1, "Size: M, Colour: Blue"),
            (large.pk, 2, "Size: L, Colour: Blue"),
        ]
        assert order.total == Decimal("799.00") + 2 * Decimal("849.00")
