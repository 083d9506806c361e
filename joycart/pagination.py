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
