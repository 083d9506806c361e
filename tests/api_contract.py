"""Every API response any test receives is held to the OpenAPI document (a pytest plugin, see conftest).

The fuzzing in test_api_contract.py explores inputs; this holds the ~thousand hand-written API
tests to the same contract: whatever they make the API answer must be a documented status with a
body that fits its schema. A test that deliberately steps outside the contract says so with
`@pytest.mark.outside_contract`.
"""

import json
import threading
from functools import cache

import pytest
import requests
import schemathesis
from django.core.serializers.json import DjangoJSONEncoder
from drf_spectacular.generators import SchemaGenerator
from schemathesis.core.transport import Response

API_PREFIX = "/api/v1/"
# Served by the API's URLs but not operations of the document.
NOT_OPERATIONS = ("/api/v1/", "/api/v1/schema/", "/api/v1/docs/")


_SCHEMA_LOCK = threading.Lock()


@cache
def _built_schema():
    document = SchemaGenerator().get_schema(request=None, public=True)
    return schemathesis.openapi.from_dict(json.loads(json.dumps(document, cls=DjangoJSONEncoder)))


def _schema():
    """Built once; the race tests' threads may be the first to ask, and drf-spectacular is not thread-safe."""
    with _SCHEMA_LOCK:
        return _built_schema()


def _as_schemathesis_response(method: str, path: str, response) -> Response:
    content = b"" if getattr(response, "streaming", False) else response.content
    return Response(
        status_code=response.status_code,
        headers={name: [value] for name, value in response.headers.items()},
        content=content,
        request=requests.Request(method.upper(), f"http://testserver{path}").prepare(),
        elapsed=0.0,
        verify=False,
        encoding=response.charset,
    )


def response_check(method: str, path: str, response) -> None:
    """Fail unless `response` is what the document says `method path` may answer."""
    if not path.startswith(API_PREFIX) or path in NOT_OPERATIONS:
        return
    if response.get("Content-Type", "").startswith("text/html"):
        return  # the browsable API, asked for with Accept: text/html; not part of the JSON contract
    operation = _schema().find_operation_by_path(method.lower(), path)
    if operation is None:
        return  # a method the path does not have (405) or a path no operation matches (404)
    documented = operation.definition.raw.get("responses", {})
    if str(response.status_code) not in documented:
        raise AssertionError(
            f"{method} {path} answered {response.status_code}, which it does not document ({', '.join(documented)}): "
            f"{response.content[:300]!r}"
        )
    try:
        operation.validate_response(_as_schemathesis_response(method, path, response))
    except BaseExceptionGroup as failures:
        raise AssertionError(f"{method} {path} answered outside its document: {failures.exceptions}") from failures


@pytest.fixture(autouse=True)
def _api_responses_keep_the_contract(request, monkeypatch):
    if request.node.get_closest_marker("outside_contract"):
        yield
        return
    from django.test import Client

    original = Client.request

    def checked(self, **environ):
        response = original(self, **environ)
        response_check(environ["REQUEST_METHOD"], environ["PATH_INFO"], response)
        return response

    monkeypatch.setattr(Client, "request", checked)
    yield
