"""Catalog versions held in each web process, kept fresh by Redis pub/sub.

Checking a version in Redis on every cached page costs a network round trip, which on
a busy host is most of the cost of a cache hit. Instead each process remembers the
versions it has read and subscribes to one channel. A bump changes the version and
publishes the key's name in one MULTI/EXEC, and Redis writes that message to every
subscriber in the same event-loop pass as it answers the bump. Before each read a
process drains whatever has arrived on its subscription socket (a non-blocking poll,
not a round trip) and forgets the versions named there, so the next read fetches them.
A seller's save has returned only after the message is on its way to every process,
which is why the very next request is fresh.

Anything doubtful (no subscription yet, a read or poll error, a reconnect not yet
confirmed, a remembered version older than MAX_TRUST_SECONDS) falls back to reading Redis, as if there were no feed.
Only active when the default cache is django-redis; with local memory the cache itself
is in-process and every read goes to it.
"""

import contextlib
import logging
import os
import threading
import time

from django.core.cache import cache

logger = logging.getLogger(__name__)

CHANNEL = "joycart:catalog:versions"
# A message lost without the connection noticing (a silent network drop) can only leave
# a version stale this long.
MAX_TRUST_SECONDS = 10.0
RETRY_SECONDS = 5.0  # after a failed subscribe; meanwhile every read goes to Redis


def enabled() -> bool:
    return hasattr(cache, "client") and hasattr(cache.client, "get_client")


class VersionFeed:
    """Remembered versions for one process; thread-safe for gthread workers."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._pid: int | None = None
        self._retry_at = 0.0
        self._pubsub = None
        self._confirmed = False  # Redis has acknowledged the subscription on the current connection
        self._known: dict[str, tuple[int, float]] = {}  # key -> (version, when read from Redis)

    def read(self, keys: list[str]) -> dict[str, int]:
        """Versions of the keys that exist; a missing key is simply absent from the result."""
        with self._lock:
            listening = self._listen()
            now = time.monotonic()
            found = {}
            for key in keys:
                version, read_at = self._known.get(key, (None, 0.0))
                if listening and version is not None and now - read_at < MAX_TRUST_SECONDS:
                    found[key] = version
            missing = [key for key in keys if key not in found]
            if missing:
                fetched = cache.get_many(missing)
                found.update(fetched)
                if listening:
                    self.remember(fetched)
            return found

    def remember(self, versions: dict[str, int]) -> None:
        """Keep versions read from Redis after the subscription was confirmed."""
        with self._lock:
            if not self._confirmed:
                return
            now = time.monotonic()
            self._known.update({key: (version, now) for key, version in versions.items() if version is not None})

    def _listen(self) -> bool:
        """Subscribe once per process, then apply what has arrived. False: read Redis instead."""
        if self._pid != os.getpid():  # a forked worker must not share its parent's socket
            self._pid, self._pubsub, self._known = os.getpid(), None, {}
        if self._pubsub is None and time.monotonic() < self._retry_at:
            return False
        try:
            if self._pubsub is None:
                self._subscribe()
            while (message := self._pubsub.get_message(timeout=0)) is not None:
                if message["type"] == "message":
                    self._known.pop(message["data"].decode(), None)
                elif message["type"] == "subscribe":
                    self._confirmed = True
            return self._confirmed
        except Exception:
            logger.warning("catalog version feed unavailable; reading versions from Redis", exc_info=True)
            self._drop()
            self._retry_at = time.monotonic() + RETRY_SECONDS
            return False

    def _subscribe(self) -> None:
        pubsub = cache.client.get_client(write=False).pubsub()
        pubsub.subscribe(CHANNEL)
        # Only versions read after Redis confirmed the subscription can be trusted.
        deadline = time.monotonic() + 1
        while (message := pubsub.get_message(timeout=0.1)) is None or message["type"] != "subscribe":
            if time.monotonic() > deadline:
                pubsub.close()
                raise TimeoutError("no subscribe confirmation from Redis")
        # redis-py reconnects and resubscribes by itself; what was published in between is lost.
        pubsub.connection.register_connect_callback(self._on_reconnect)
        self._pubsub, self._known, self._confirmed = pubsub, {}, True

    def _on_reconnect(self, _connection) -> None:
        self._known, self._confirmed = {}, False

    def reset(self) -> None:
        """Forget everything and unsubscribe (tests; after a cache flush)."""
        with self._lock:
            self._drop()
            self._retry_at = 0.0

    def _drop(self) -> None:
        if self._pubsub is not None:
            with contextlib.suppress(Exception):  # already broken; this only releases the socket
                self._pubsub.close()
        self._pubsub, self._known, self._confirmed = None, {}, False


def bump(key: str, *, fresh_version: int, timeout: int) -> None:
    """Advance a version and tell every process, atomically (MULTI/EXEC)."""
    redis_key = cache.make_key(key)
    pipe = cache.client.get_client(write=True).pipeline(transaction=True)
    pipe.set(redis_key, fresh_version, nx=True, ex=timeout)  # a missing key starts from a new value
    pipe.incr(redis_key)
    pipe.expire(redis_key, timeout)
    pipe.publish(CHANNEL, key)
    try:
        pipe.execute()
    except Exception:
        logger.warning("could not bump catalog version %s", key, exc_info=True)


feed = VersionFeed()
