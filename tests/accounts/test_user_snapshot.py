"""A logged-in page's user comes from a cached snapshot; every change to the user, their store or
their cart shows on their very next page, whichever way it was written."""

import re
import threading
from datetime import timedelta
from decimal import Decimal
from unittest import mock

import pytest
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Store, User
from accounts.services.sessions import tokens_issue
from accounts.services.stores import store_create
from accounts.services.users import (
    user_block,
    user_password_change,
    user_profile_update,
    user_promote_to_admin,
    user_unblock,
)
from accounts.user_snapshot import forget_cached_users, page_user
from cart import services as cart_services
from cart.models import CartItem
from catalog.response_cache import csrf_slot_marker
from catalog.services.products import product_create
from tests.accounts.helpers import superuser
from tests.catalog.test_logged_in_pages import logged_in
from tests.factories import CategoryFactory, StoreFactory, UserFactory, only_variant

pytestmark = pytest.mark.django_db


def home(client) -> str:
    response = client.get("/")
    assert response.status_code == 200
    return response.content.decode()


def badge(count: int) -> str:
    return f'data-testid="nav-cart-count">{count}<'


@pytest.fixture
def shopper():
    return UserFactory(first_name="Asha", last_name="")


@pytest.fixture
def variant():
    product = product_create(
        store=StoreFactory(),
        title="Terracotta planter",
        category=CategoryFactory(),
        sku="TP-1",
        price=Decimal("650.00"),
        stock=20,
    )
    return only_variant(product)


def test_a_warm_logged_in_home_page_reads_no_database(shopper, variant):
    client = logged_in(shopper)
    cart_services.cart_item_add(user=shopper, variant_id=variant.pk, quantity=2)
    home(client)
    with CaptureQueriesContext(connection) as captured:
        html = home(client)
    assert captured.captured_queries == []
    assert badge(2) in html
    assert 'data-testid="nav-user"' in html and "Asha" in html


def test_a_user_blocked_by_an_admin_is_logged_out_on_the_next_page(shopper):
    client = logged_in(shopper)
    assert 'data-testid="nav-user"' in home(client)
    user_block(actor=superuser(), user=shopper)
    assert 'data-testid="nav-user"' not in home(client)


def test_a_block_written_with_a_queryset_update_logs_out_too(shopper):
    client = logged_in(shopper)
    home(client)
    User.objects.filter(pk=shopper.pk).update(is_blocked=True)
    assert 'data-testid="nav-user"' not in home(client)


def test_unblocked_and_logged_in_again_the_page_shows_the_user(shopper):
    admin = superuser()
    user_block(actor=admin, user=shopper)
    user_unblock(actor=admin, user=shopper)
    assert 'data-testid="nav-user"' in home(logged_in(shopper))


def test_a_password_change_refuses_the_older_token_on_the_next_page(shopper):
    old = logged_in(shopper)
    home(old)
    shopper.refresh_from_db()
    pair = user_password_change(user=shopper, new_password="An0ther-Long-Secret")
    assert 'data-testid="nav-user"' not in home(old)
    new = Client()
    new.cookies["jc_access"] = pair.access
    assert 'data-testid="nav-user"' in home(new)


def test_every_cart_change_shows_in_the_badge_on_the_next_page(shopper, variant):
    client = logged_in(shopper)
    assert badge(0) in home(client)
    item = cart_services.cart_item_add(user=shopper, variant_id=variant.pk, quantity=2)
    assert badge(2) in home(client)
    cart_services.cart_item_update(user=shopper, item_id=item.pk, quantity=5)  # an UPDATE, no signal
    assert badge(5) in home(client)
    CartItem.objects.filter(pk=item.pk).update(quantity=3)
    assert badge(3) in home(client)
    cart_services.cart_item_remove(user=shopper, item_id=item.pk)
    assert badge(0) in home(client)
    cart_services.cart_merge_guest(user=shopper, guest_lines={variant.pk: 4})  # bulk_create
    assert badge(4) in home(client)
    cart_services.cart_clear(user=shopper)
    assert badge(0) in home(client)


def test_a_product_deleted_from_the_cart_by_cascade_drops_out_of_the_badge(shopper, variant):
    client = logged_in(shopper)
    cart_services.cart_item_add(user=shopper, variant_id=variant.pk, quantity=2)
    assert badge(2) in home(client)
    variant.product.delete()
    assert badge(0) in home(client)


def test_opening_closing_and_handing_over_a_store_shows_in_the_nav(shopper):
    client = logged_in(shopper)
    assert 'data-testid="nav-seller"' not in home(client)
    store = store_create(user=shopper, name="Asha's Pots")
    assert 'data-testid="nav-seller"' in home(client)
    Store.objects.filter(pk=store.pk).update(is_active=False)
    assert 'data-testid="nav-seller"' not in home(client)
    Store.objects.filter(pk=store.pk).update(is_active=True)
    assert 'data-testid="nav-seller"' in home(client)
    store.user = UserFactory()
    store.save()
    assert 'data-testid="nav-seller"' not in home(client)


def test_a_promotion_and_a_rename_show_on_the_next_page(shopper):
    client = logged_in(shopper)
    assert 'data-testid="nav-admin"' not in home(client)
    user_promote_to_admin(actor=superuser(), user=shopper)
    assert 'data-testid="nav-admin"' in home(client)
    user_profile_update(user=shopper, first_name="Ashwini", last_name="Rao", email=shopper.email)
    assert "Ashwini Rao" in home(client)


def test_a_shopper_never_gets_another_shoppers_snapshot(shopper, variant):
    ravi = UserFactory(first_name="Ravi")
    cart_services.cart_item_add(user=shopper, variant_id=variant.pk, quantity=2)
    asha_client, ravi_client = logged_in(shopper), logged_in(ravi)
    for _ in range(2):
        asha_page, ravi_page = home(asha_client), home(ravi_client)
        assert "Asha" in asha_page and badge(2) in asha_page
        assert "Ravi" in ravi_page and badge(0) in ravi_page and "Asha" not in ravi_page


def test_a_snapshot_read_before_a_concurrent_change_is_never_used(shopper):
    """A reader loads the old rows, a write commits and forgets the user, then the reader stores
    what it loaded: the next page must not be served from that."""
    token = tokens_issue(user=shopper)
    from rest_framework_simplejwt.tokens import AccessToken

    from accounts.auth import user_checked, user_from_access_token

    access = AccessToken(token.access)
    loads = []

    def load_racing_a_write(token):
        user = user_from_access_token(token, with_cart_count=True)
        loads.append(user)
        if len(loads) == 1:
            User.objects.filter(pk=shopper.pk).update(first_name="Changed")  # forgets the user meanwhile
        return user

    first = page_user(access, load=load_racing_a_write, check=user_checked)
    assert first.first_name == "Asha"  # what this request read before the change
    second = page_user(access, load=load_racing_a_write, check=user_checked)
    assert len(loads) == 2 and second.first_name == "Changed"
    third = page_user(access, load=load_racing_a_write, check=user_checked)
    assert len(loads) == 2 and third.first_name == "Changed"  # and now the snapshot serves


def test_forgetting_an_unknown_user_is_harmless():
    forget_cached_users([None, 123456789])


# --- A logged-in shopper's own copy of a listing page (catalog.response_cache, per_user) ----


def csrf_field_value(html: str) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)


def test_a_kept_logged_in_page_carries_a_working_csrf_token_for_the_logout_form(shopper):
    client = logged_in(shopper)
    client.handler.enforce_csrf_checks = True
    home(client)
    html = home(client)  # the kept copy
    assert csrf_slot_marker() not in html
    response = client.post("/accounts/logout/", {"csrfmiddlewaretoken": csrf_field_value(html)})
    assert response.status_code == 302
    assert 'data-testid="nav-user"' not in home(client)


def test_a_flash_message_is_shown_not_a_kept_page_without_it(shopper, variant):
    client = logged_in(shopper)
    home(client)
    client.post("/cart/add/", {"product_id": variant.product_id, "quantity": 1, "next": "/"})
    html = home(client)
    assert "to your cart." in html and badge(1) in html
    assert "to your cart." not in home(client)  # shown once


def test_a_catalog_change_shows_on_a_logged_in_shoppers_next_listing(
    shopper, variant, django_capture_on_commit_callbacks
):
    client = logged_in(shopper)
    assert "Terracotta planter" in home(client)
    with django_capture_on_commit_callbacks(execute=True):  # the catalog's versions move after commit
        product_create(
            store=StoreFactory(),
            title="Brass lamp",
            category=CategoryFactory(),
            sku="BL-1",
            price=Decimal("900"),
            stock=1,
        )
    assert "Brass lamp" in home(client)


def test_a_search_page_is_kept_apart_from_the_home_page(shopper, variant):
    client = logged_in(shopper)
    home(client)
    html = client.get("/?search=zzzz-nothing").content.decode()
    assert "Terracotta planter" not in html
    assert "Terracotta planter" in home(client)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_page_read_while_a_block_is_uncommitted_is_not_served_once_it_commits():
    """Real threads: a page read in the middle of the admin's transaction sees (and caches) the user
    as they were; the forgetting after commit is what logs them out on the next page."""
    shopper, admin = UserFactory(), superuser()
    client = logged_in(shopper)
    home(client)
    uncommitted, page_read = threading.Event(), threading.Event()

    def block_and_wait_before_commit() -> None:
        try:
            with transaction.atomic():
                user_block(actor=admin, user=User.objects.get(pk=shopper.pk))
                uncommitted.set()
                page_read.wait(10)
        finally:
            connection.close()

    admin_thread = threading.Thread(target=block_and_wait_before_commit)
    admin_thread.start()
    assert uncommitted.wait(10)
    try:
        assert 'data-testid="nav-user"' in home(client)  # the block is not committed yet
    finally:
        page_read.set()
        admin_thread.join(10)
    assert 'data-testid="nav-user"' not in home(client)


def test_an_access_cookie_verified_earlier_is_refused_once_it_expires(shopper):
    client = Client()
    client.cookies["jc_access"] = tokens_issue(user=shopper).access  # no refresh cookie to renew it
    assert 'data-testid="nav-user"' in home(client)  # verified, and remembered by this process
    later = timezone.now() + timedelta(minutes=11)
    with mock.patch("accounts.auth.aware_utcnow", return_value=later):
        assert 'data-testid="nav-user"' not in home(client)


def test_emptying_a_cart_costs_the_same_queries_whatever_its_lines(shopper):
    variants = []
    for index in range(6):
        product = product_create(
            store=StoreFactory(), title=f"Pot {index}", category=CategoryFactory(), sku=f"P-{index}", price=1, stock=9
        )
        variants.append(only_variant(product))

    def queries_to_empty(lines: int) -> int:
        for variant in variants[:lines]:
            cart_services.cart_item_add(user=shopper, variant_id=variant.pk, quantity=1)
        with CaptureQueriesContext(connection) as captured:
            cart_services.cart_clear(user=shopper)
        return len(captured)

    assert queries_to_empty(2) == queries_to_empty(6)
