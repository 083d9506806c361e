"""CappedCountPaginator: Django's paginator that stops counting at a cap, yet serves every page as Django's does."""

import pytest
from django.core.paginator import Paginator
from django.db import connection
from django.db.models import OuterRef, Subquery
from django.test.utils import CaptureQueriesContext

from catalog.models import Product
from joycart.pagination import CappedCountPaginator
from tests.factories import ProductFactory

ROWS = list(range(1, 101))  # 100 rows, 10 a page


def capped(rows=ROWS, *, cap=30) -> CappedCountPaginator:
    return CappedCountPaginator(rows, 10, count_cap=cap)


def test_under_the_cap_it_is_django_paginator():
    paginator = capped(cap=500)
    page = paginator.get_page("4")
    assert (paginator.count, paginator.num_pages, paginator.count_capped) == (100, 10, False)
    assert list(page) == list(range(31, 41))


def test_past_the_cap_the_count_is_a_lower_bound_and_the_next_page_is_known():
    paginator = capped()
    page = paginator.get_page("1")
    assert paginator.count_capped
    assert (paginator.count, paginator.num_pages) == (31, 4)
    assert list(page) == list(range(1, 11))
    assert page.has_next() and page.next_page_number() == 2


@pytest.mark.parametrize("number", ["3", "4", "5", "9"])
def test_a_page_near_or_past_the_cap_is_whole_and_links_on(number):
    paginator = capped()
    page = paginator.get_page(number)
    first = (int(number) - 1) * 10 + 1
    assert list(page) == list(range(first, first + 10))
    assert page.has_next() and page.has_previous()
    assert paginator.count_capped


def test_the_last_page_is_exact():
    paginator = capped()
    page = paginator.get_page("10")
    assert list(page) == list(range(91, 101))
    assert not page.has_next()
    assert (paginator.count, paginator.num_pages, paginator.count_capped) == (100, 10, False)


@pytest.mark.parametrize("number", ["11", "400", str(10**30), "99999999999999999999999999"])
def test_past_the_end_shows_the_last_page_as_django_does(number):
    paginator = capped()
    page = paginator.get_page(number)
    assert page.number == 10 == Paginator(ROWS, 10).get_page(number).number
    assert list(page) == list(range(91, 101))
    assert not paginator.count_capped


@pytest.mark.parametrize("number", [None, "", "abc", "2.5", "-3", "0", "inf", float("inf")])
def test_a_bad_page_number_shows_what_django_shows(number):
    paginator = capped()
    expected = Paginator(ROWS, 10).get_page(number).number
    assert paginator.get_page(number).number == expected


def test_a_cap_below_one_page_still_fills_the_page():
    paginator = capped(cap=3)
    assert list(paginator.get_page(1)) == list(range(1, 11))
    assert paginator.get_page(1).has_next()


@pytest.mark.django_db
def test_a_queryset_is_counted_once_with_a_limit_and_without_its_per_row_annotations():
    ProductFactory.create_batch(7)
    # A subquery per row, as the listing's count of variants is: counting needs none of it.
    same_title = Subquery(Product.objects.filter(pk=OuterRef("pk")).values("title")[:1])
    products = Product.objects.annotate(same_title=same_title).order_by("-id")
    paginator = CappedCountPaginator(products, 2, count_cap=4)
    with CaptureQueriesContext(connection) as queries:
        page = paginator.get_page(1)
        assert len(page.object_list) == 2
    count_sql = queries.captured_queries[0]["sql"]
    assert "COUNT(*)" in count_sql and "LIMIT 5" in count_sql
    assert "same_title" not in count_sql and "ORDER BY" not in count_sql
    assert (paginator.count, paginator.count_capped) == (5, True)
    assert len(queries) == 2  # the count and the page
