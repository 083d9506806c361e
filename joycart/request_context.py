"""The request id: which request, or which task a request queued, a log line was written for.

Taken from the client's `X-Request-ID` header when it is a plain token (a proxy or a load balancer
may have set it, so its lines and ours join up), else made here. It lives in a context variable, so
every log line written while it is set carries it (`joycart.logs.RequestIdFilter`) without being
passed around; `joycart.tasks` hands it on to the tasks the request queues.

Deliberately free of Django: gunicorn's configuration may import the logging setup before Django is.
"""

import re
import uuid
from contextvars import ContextVar

REQUEST_ID_HEADER = "X-Request-ID"
# Letters, digits and . _ - only: the id is written into every log line and echoed in a response header,
# so nothing a client sends may break a JSON line or a header, or flood the logs.
CLIENT_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")

current_request_id: ContextVar[str | None] = ContextVar("request_id", default=None)


def new_request_id() -> str:
    return uuid.uuid4().hex


def request_id_from_header(value: str | None) -> str:
    """The client's id when it is well-formed; otherwise, missing or not, a new one."""
    if value and CLIENT_REQUEST_ID.fullmatch(value):
        return value
    return new_request_id()
