from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.utils.functional import cached_property
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import PageNumberPagination as DRFPageNumberPagination

from joycart.ids import parse_id
from joycart.numbers import bounded_int


class PageNumberPagination(DRFPageNumberPagination):
    """DRF's page numbers, read strictly: a `page` that is not a page number answers 404 like a page
    past the end, and a `page_size` that is not a whole number from 1 to `max_page_size` is refused
    (400) rather than ignored. Blank means absent, as for every query parameter of the API."""

    page_size_query_param = "page_size"
    max_page_size = 100
    last_page_strings = ()

    def get_page_number(self, request, paginator):
        raw = request.query_params.get(self.page_query_param, "").strip()
        if not raw:
            return 1
        if parse_id(raw) is None:
            raise NotFound(self.invalid_page_message.format(page_number=raw[:20], message="Not a page number."))
        return raw

    def get_page_size(self, request):
        raw = (request.query_params.get(self.page_size_query_param) or "").strip()
        if not raw:
            return self.page_size
        size = bounded_int(raw, low=1, high=self.max_page_size)
        if size is None:
            raise ValidationError({self.page_size_query_param: [f"Choose a page size from 1 to {self.max_page_size}."]})
        return size

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_query_param:
                parameter["schema"]["minimum"] = 1
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"].update(minimum=1, maximum=self.max_page_size)
        return parameters


class CappedCountPaginator(Paginator):
    """Django's paginator for pages that must not count every match: the count stops at `count_cap` rows.

    Counting the matches of a listing reads them all, however few a page shows; at 100,000 products that is the
    largest cost of an uncached page. Yet a page needs only to know that it exists and whether another follows.
    So the count reads at most `count_cap` + 1 rows, or as many as the page asked for needs when it lies further
    (then that page, its neighbours and Django's "past the end, or below 1, shows the last page" are still exact). When the
    count stopped early, `count_capped` is True, `count` is a lower bound and `num_pages` the pages known to exist.
    """

    # Further than any table reaches, and within the 64-bit LIMIT that databases take.
    MAX_ROWS = 2**53

    def __init__(self, object_list, per_page, *, count_cap: int, **kwargs):
        super().__init__(object_list, per_page, **kwargs)
        self.count_cap = count_cap
        self.count_capped = False
        self._rows_needed = max(count_cap, self.per_page + self.orphans)

    def validate_number(self, number):
        # Before the count is made (it is cached): a page further than the cap widens it to reach that page.
        if "count" not in self.__dict__:
            try:
                wanted = int(number)
            except (TypeError, ValueError, OverflowError):
                wanted = 1  # Django refuses it below, and shows the first page
            # Django shows the last page for a number below 1 too: only a full count finds it.
            rows = wanted * self.per_page + self.orphans if wanted >= 1 else self.MAX_ROWS
            self._rows_needed = min(max(self.count_cap, rows), self.MAX_ROWS)
        return super().validate_number(number)

    @cached_property
    def count(self) -> int:
        rows = self.object_list
        if isinstance(rows, QuerySet):
            # Only whether a row exists matters: no ordering, and none of the annotations computed per row.
            counted = rows.order_by().values("pk")[: self._rows_needed + 1].count()
        else:
            counted = len(rows[: self._rows_needed + 1])
        self.count_capped = counted > self._rows_needed
        return counted
