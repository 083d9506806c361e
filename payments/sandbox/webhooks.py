"""Signed webhook deliveries, as Razorpay makes them: at least once, retried with backoff, and (on
request) twice, out of order, late or never.

One delivery thread works through a schedule ordered by due time, so a late or retried
delivery never holds up the others. Every attempt is logged in `deliveries`.
"""

from __future__ import annotations

import hashlib
import heapq
import hmac
import http.client
import itertools
import json
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from .ledger import new_id

logger = logging.getLogger(__name__)

MODES = ("normal", "twice", "reversed", "late", "never")


def sign(body: bytes, secret: str) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def event_body(name: str, entities: dict[str, dict[str, Any]], *, account_id: str) -> bytes:
    """The bytes of a Razorpay event whose payload carries `entities` ({"payment": {...}, "order": {...}})."""
    envelope = {
        "entity": "event",
        "account_id": account_id,
        "event": name,
        "contains": list(entities),
        "payload": {kind: {"entity": entity} for kind, entity in entities.items()},
        "created_at": int(time.time()),
    }
    return json.dumps(envelope, separators=(",", ":")).encode()


@dataclass(frozen=True)
class Event:
    id: str
    name: str
    body: bytes  # the exact bytes that were signed and sent
    headers: dict[str, str]

    @property
    def envelope(self) -> dict[str, Any]:
        return json.loads(self.body)


@dataclass(frozen=True)
class Delivery:
    """One attempt to deliver one event."""

    event_id: str
    event: str
    attempt: int
    url: str
    status: int | None  # None when no HTTP answer came back
    error: str | None
    at: float = field(default_factory=time.time)

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


class WebhookDispatcher:
    def __init__(
        self,
        *,
        secret: str,
        url: str | None,
        account_id: str = "acc_sandbox",
        retry_delays: tuple[float, ...] = (0.1, 0.5, 2.0),
        timeout: float = 5.0,
    ) -> None:
        self.secret = secret
        self.url = url
        self.account_id = account_id
        self.retry_delays = tuple(retry_delays)
        self.timeout = timeout
        self.mode = "normal"
        self.late_seconds = 1.0
        self.batch_size = 2
        self.events: list[Event] = []
        self.deliveries: list[Delivery] = []
        self.held: list[Event] = []  # "never": kept back until release()
        self._batch: list[Event] = []  # "reversed": collected until the batch is full
        self._schedule: list[tuple[float, int, Event, int]] = []
        self._sequence = itertools.count()
        self._in_flight = 0
        self._condition = threading.Condition()
        self._stopping = False
        self._thread: threading.Thread | None = None

    # --- life cycle -------------------------------------------------------------------

    def start(self) -> None:
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="sandbox-webhooks", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        with self._condition:
            self._stopping = True
            self._condition.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=self.timeout + 1)

    def reset(self) -> None:
        with self._condition:
            self.mode = "normal"
            self.events.clear()
            self.deliveries.clear()
            self.held.clear()
            self._batch.clear()
            self._schedule.clear()

    # --- controls ---------------------------------------------------------------------

    def set_mode(self, mode: str, *, seconds: float | None = None, batch: int | None = None) -> None:
        if mode not in MODES:
            raise ValueError(f"webhook mode must be one of {', '.join(MODES)}")
        with self._condition:
            self.mode = mode
            if seconds is not None:
                self.late_seconds = float(seconds)
            if batch is not None:
                if batch < 2:
                    raise ValueError("an out-of-order batch needs at least 2 events")
                self.batch_size = batch
            if mode != "reversed":
                self._flush_batch()

    def release(self) -> list[Event]:
        """Deliver the events held back in "never" mode, in the order they happened."""
        with self._condition:
            released, self.held = self.held, []
            for event in released:
                self._enqueue(event, due=time.monotonic())
            return released

    def flush(self) -> None:
        """Deliver an incomplete out-of-order batch now (still reversed)."""
        with self._condition:
            self._flush_batch()

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Until nothing is scheduled or in flight (held events do not count)."""
        deadline = time.monotonic() + timeout
        with self._condition:
            while self._schedule or self._in_flight:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._condition.wait(remaining)
            return True

    # --- events -----------------------------------------------------------------------

    def emit(self, name: str, entities: dict[str, dict[str, Any]]) -> Event:
        """Sign and queue one event whose payload carries `entities` ({"payment": {...}, "order": {...}})."""
        body = event_body(name, entities, account_id=self.account_id)
        event_id = new_id("evt")
        headers = {
            "Content-Type": "application/json",
            "X-Razorpay-Signature": sign(body, self.secret),
            "X-Razorpay-Event-Id": event_id,
            "User-Agent": "Razorpay-Webhook/v1 (JoyCart sandbox)",
        }
        event = Event(id=event_id, name=name, body=body, headers=headers)
        with self._condition:
            self.events.append(event)
            now = time.monotonic()
            if self.mode == "never":
                self.held.append(event)
            elif self.mode == "reversed":
                self._batch.append(event)
                if len(self._batch) >= self.batch_size:
                    self._flush_batch()
            elif self.mode == "late":
                self._enqueue(event, due=now + self.late_seconds)
            else:
                self._enqueue(event, due=now)
                if self.mode == "twice":
                    self._enqueue(event, due=now)
        return event

    def _flush_batch(self) -> None:
        batch, self._batch = self._batch, []
        for event in reversed(batch):
            self._enqueue(event, due=time.monotonic())

    def _enqueue(self, event: Event, *, due: float, attempt: int = 1) -> None:
        heapq.heappush(self._schedule, (due, next(self._sequence), event, attempt))
        self._condition.notify_all()

    # --- delivery ---------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            with self._condition:
                while not self._stopping:
                    if self._schedule:
                        wait = self._schedule[0][0] - time.monotonic()
                        if wait <= 0:
                            break
                        self._condition.wait(wait)
                    else:
                        self._condition.wait()
                if self._stopping:
                    return
                _, _, event, attempt = heapq.heappop(self._schedule)
                self._in_flight += 1
                url = self.url
            try:
                delivery = self._post(event, attempt, url)
            finally:
                with self._condition:
                    self._in_flight -= 1
                    if url is not None:
                        self.deliveries.append(delivery)
                        if not delivery.ok and attempt <= len(self.retry_delays) and not self._stopping:
                            self._enqueue(
                                event, due=time.monotonic() + self.retry_delays[attempt - 1], attempt=attempt + 1
                            )
                    self._condition.notify_all()

    def _post(self, event: Event, attempt: int, url: str | None) -> Delivery:
        if url is None:
            return Delivery(event.id, event.name, attempt, "", None, "no webhook URL")
        parts = urlsplit(url)
        connection_class = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        connection = connection_class(parts.netloc, timeout=self.timeout)
        path = parts.path or "/"
        if parts.query:
            path = f"{path}?{parts.query}"
        try:
            connection.request("POST", path, body=event.body, headers=event.headers)
            response = connection.getresponse()
            response.read()
            status, error = response.status, None
        except (OSError, http.client.HTTPException) as exc:
            status, error = None, f"{type(exc).__name__}: {exc}"
        finally:
            connection.close()
        log = logger.info if status is not None and 200 <= status < 300 else logger.warning
        log("sandbox webhook %s %s attempt %d -> %s", event.name, event.id, attempt, status or error)
        return Delivery(event.id, event.name, attempt, url, status, error)
