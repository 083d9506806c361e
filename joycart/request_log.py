"""One log line per request, and the request id that ties it to every other line the request wrote."""

import logging
import time

from django.http import HttpRequest, HttpResponse
from django.utils.functional import LazyObject, empty

from joycart.request_context import REQUEST_ID_HEADER, current_request_id, request_id_from_header

logger = logging.getLogger("joycart.request")


def resolved_user_id(request: HttpRequest) -> int | None:
    """The id of the user some layer already loaded for this request, never loading one itself.

    `request.user` is lazy: an anonymous page served from the cache never reads the session or the
    token, and logging must not make it. DRF puts the user it authenticated on the request itself.
    """
    user = request.__dict__.get("user")
    if isinstance(user, LazyObject):
        user = user._wrapped
        if user is empty:
            return None
    if user is None or not user.is_authenticated:
        return None
    return user.pk


class RequestLogMiddleware:
    """Gives each request its id (echoed in the `X-Request-ID` response header) and logs one line
    when it is answered: method, path, status, duration, and the user when one was loaded.

    First in MIDDLEWARE, so the id covers every later layer and the duration counts them all,
    redirects and refusals included. The id stays set until the response is closed
    (`forget_request_id`): Django logs its 4xx and 5xx lines after the last middleware returned.
    It runs on every request, Razorpay's webhook bursts too, so it reads no header object, no
    database and no cache.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = request_id_from_header(request.META.get("HTTP_X_REQUEST_ID"))
        current_request_id.set(request_id)
        started = time.perf_counter()
        response = self.get_response(request)
        response[REQUEST_ID_HEADER] = request_id
        if logger.isEnabledFor(logging.INFO):
            duration_ms = round((time.perf_counter() - started) * 1000, 1)
            path = request.path
            logger.info(
                "%s %s %s %.1fms",
                request.method,
                path,
                response.status_code,
                duration_ms,
                extra={
                    "method": request.method,
                    "path": path,
                    "status": response.status_code,
                    "duration_ms": duration_ms,
                    "user_id": resolved_user_id(request),
                },
            )
        return response


def forget_request_id(**kwargs) -> None:
    """`request_finished`: the server closed the response, and lines written from now on, until the
    next request, belong to no request."""
    current_request_id.set(None)
