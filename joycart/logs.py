"""Log lines: one JSON object a line on stdout in production, readable text in development.

JSON, so a log platform can filter on fields (`level`, `request_id`, `status`, `path`) instead of
parsing text. Every line carries the request id of the request, or of the task a request queued,
that it was written for (`null` outside both). python-json-logger does the formatting: it is a
plain `logging.Formatter`, so Django's, the task worker's and every library's loggers come out the
same without any of them changing how they log. (gunicorn's master writes its own few lines, start-up
and worker boots, to stderr in its own format; the request line replaces its access log.)

Deliberately free of Django, like `joycart.request_context`: settings import it.
"""

import logging

from pythonjsonlogger.core import RESERVED_ATTRS

from joycart.request_context import current_request_id

LOG_FORMATS = ("json", "text")
# Attributes some loggers attach that would only repeat what the line already says, less safely:
# Django passes the whole request object to `django.request` and `django.server` lines.
_NOT_LOGGED = ("request", "server_time")


def log_format_default(*, debug: bool) -> str:
    return "text" if debug else "json"


class RequestIdFilter(logging.Filter):
    """Puts the current request id on every record the handler writes."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id.get()
        return True


class ReadableFormatter(logging.Formatter):
    """Development's text lines, ending with the request id when there is one."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        line = super().formatMessage(record)
        request_id = getattr(record, "request_id", None)
        return f"{line} [{request_id}]" if request_id else line


def logging_config(*, log_format: str, level: str) -> dict:
    """`LOGGING` for settings: the root logger writes every line to stdout in `log_format`."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": RequestIdFilter}},
        "formatters": {
            "json": {
                "()": "pythonjsonlogger.json.JsonFormatter",
                # level, logger, message, request_id; whatever `extra` a line has (the request lines'
                # method, path, status, duration_ms, user_id), an exception's `exc_info`; then time, in UTC.
                "fmt": ["levelname", "name", "message", "request_id"],
                "rename_fields": {"levelname": "level", "name": "logger"},
                "timestamp": "time",
                "reserved_attrs": [*RESERVED_ATTRS, *_NOT_LOGGED],
            },
            "text": {"()": ReadableFormatter, "format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
        },
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stdout",
                "formatter": log_format,
                "filters": ["request_id"],
            }
        },
        "root": {"handlers": ["console"], "level": level},
    }
