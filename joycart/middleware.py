"""Refuses a NUL character in what reaches views before any form or serializer sees it (`joycart.text`).

The path, the query string and the headers (cookies included) are read by views, filters,
paginators, the session and the throttles without a form in between: refusing a NUL in them here
covers every one of them, present and future, at the cost of a few substring checks. Bodies are
left to the forms and serializers, so a page shows the error beside its field.
"""

import logging

from django.core.exceptions import SuspiciousOperation
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, UnreadablePostError
from django.http.multipartparser import MultiPartParserError
from django.http.request import RawPostDataException
from django.template.loader import render_to_string

from joycart.errors import API_PREFIX, InvalidText, api_error_response
from joycart.text import NUL, has_nul

logger = logging.getLogger(__name__)


def _refused(request: HttpRequest) -> HttpResponse:
    if request.path.startswith(API_PREFIX):
        return api_error_response(status_code=InvalidText.status_code, code=InvalidText.code)
    # Rendered without the request: its cookies may be what held the NUL.
    return HttpResponseBadRequest(render_to_string("400.html", {"detail": InvalidText.message}))


def outside_the_body_has_nul(request: HttpRequest) -> bool:
    meta = request.META
    # The raw query string holds a NUL once decoded exactly when it holds "%00" or a raw NUL.
    query = meta.get("QUERY_STRING", "")
    if "%00" in query or NUL in query or NUL in request.path or NUL in meta.get("CONTENT_TYPE", ""):
        return True
    return any(NUL in value for name, value in meta.items() if name.startswith("HTTP_") and isinstance(value, str))


def _form_body_has_nul(request: HttpRequest) -> bool:
    """Whether the request's form fields hold a NUL. JSON bodies are the API parser's to refuse."""
    try:
        return has_nul(request.POST)
    except (RawPostDataException, UnreadablePostError, MultiPartParserError, SuspiciousOperation):
        return False  # a body that cannot be read as a form now is not what the view failed on


class RefuseNulMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if outside_the_body_has_nul(request):
            return _refused(request)
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        """A page refused a NUL (`InvalidText`) outside a form; or, the safety net, a view failed on
        a body that holds one: still a 400, never a 500, but logged with its traceback, because a
        form or serializer should have refused it first."""
        if isinstance(exception, InvalidText):
            return _refused(request)
        if _form_body_has_nul(request):
            logger.warning("A request body with a NUL character reached code that failed on it", exc_info=exception)
            return _refused(request)
        return None
