import pytest
from django.core.cache import cache

pytestmark = pytest.mark.django_db


def test_healthz_reports_database_and_cache(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"database": "ok", "cache": "ok", "status": "ok"}


def test_healthz_names_what_is_down(client, monkeypatch):
    def broken_set(*args, **kwargs):
        raise ConnectionError("cache unreachable")

    monkeypatch.setattr(cache, "set", broken_set)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["cache"] == "down"
    assert "cache" in response.json()["status"]


def test_api_root_and_docs_are_served(client):
    assert client.get("/api/v1/").status_code == 200
    schema = client.get("/api/v1/schema/")
    assert schema.status_code == 200
    assert b"/api/v1/auth/login/" in schema.content
    docs = client.get("/api/v1/docs/")
    assert docs.status_code == 200
    assert b"cdn" not in docs.content.lower()
