"""The per-process catalog versions fed by Redis pub/sub (catalog.version_feed).

Each VersionFeed below stands for one gunicorn worker. These run where CI provides Redis.
"""

import pytest
from django.core.cache import cache
from django.test import Client

from catalog import cache as catalog_cache
from catalog import version_feed
from catalog.services.products import product_update
from tests.factories import ProductFactory

pytestmark = [pytest.mark.redis, pytest.mark.django_db]

KEY = catalog_cache.LISTING_VERSION_KEY


@pytest.fixture
def count_redis_reads(monkeypatch):
    reads = []
    real_get_many = cache.get_many

    def counting_get_many(keys, *args, **kwargs):
        reads.append(list(keys))
        return real_get_many(keys, *args, **kwargs)

    monkeypatch.setattr(cache, "get_many", counting_get_many)
    return reads


def test_a_remembered_version_is_read_without_a_round_trip(count_redis_reads):
    worker = version_feed.VersionFeed()
    catalog_cache.structure_changed()
    first = worker.read([KEY])
    assert worker.read([KEY]) == first
    assert count_redis_reads == [[KEY]]  # only the first read went to Redis


def test_a_bump_from_another_worker_is_seen_on_the_very_next_read():
    reader, writer = version_feed.VersionFeed(), version_feed.VersionFeed()
    catalog_cache.structure_changed()
    before = reader.read([KEY])[KEY]
    writer.read([KEY])
    catalog_cache.structure_changed()  # what a service's on-commit bump does
    after = reader.read([KEY])[KEY]
    assert after > before
    assert writer.read([KEY])[KEY] == after


def test_a_broken_subscription_falls_back_to_reading_redis(count_redis_reads):
    worker = version_feed.VersionFeed()
    catalog_cache.structure_changed()
    worker.read([KEY])
    worker._pubsub.connection.disconnect()  # Redis restarted, or the network dropped
    catalog_cache.structure_changed()
    assert worker.read([KEY])[KEY] == cache.get(KEY)
    assert len(count_redis_reads) == 2


def test_an_edit_is_on_the_very_next_anonymous_page(django_capture_on_commit_callbacks):
    product = ProductFactory(title="Clay lamp")
    visitor = Client()
    assert "Clay lamp" in visitor.get("/").content.decode()
    assert "Clay lamp" in visitor.get(f"/products/{product.slug}/").content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        product_update(product=product, title="Brass lamp")
    assert "Brass lamp" in visitor.get("/").content.decode()
    assert "Brass lamp" in visitor.get(f"/products/{product.slug}/").content.decode()
    assert "Brass lamp" in visitor.get(f"/api/v1/products/{product.pk}/").content.decode()
