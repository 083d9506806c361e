"""Faults the sandbox can be told to inject into its next API calls.

Each fault is armed for a number of calls, optionally only for paths matching a glob such as
`/v1/payments/*/refund`, and is used up by the calls it hits.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from fnmatch import fnmatchcase


@dataclass
class Fault:
    kind: str  # "fail", "hang" or "drop"
    remaining: int
    path: str | None = None
    status: int = 500
    seconds: float = 0.0

    def matches(self, path: str) -> bool:
        return self.path is None or fnmatchcase(path, self.path)


@dataclass(frozen=True)
class Plan:
    """What to do to one API call."""

    fail_status: int | None = None
    hang_seconds: float = 0.0
    drop_response: bool = False


class Faults:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._armed: list[Fault] = []
        self._refund_failures = 0

    def arm(self, fault: Fault) -> None:
        if fault.remaining < 1:
            raise ValueError("a fault needs a count of at least 1")
        with self._lock:
            self._armed.append(fault)

    def fail_next_refunds(self, count: int) -> None:
        with self._lock:
            self._refund_failures += count

    def take_refund_failure(self) -> bool:
        with self._lock:
            if self._refund_failures:
                self._refund_failures -= 1
                return True
            return False

    def plan(self, path: str) -> Plan:
        """Use up one charge of each kind of armed fault that matches this call."""
        taken: dict[str, Fault] = {}
        with self._lock:
            for fault in self._armed:
                if fault.kind not in taken and fault.matches(path):
                    fault.remaining -= 1
                    taken[fault.kind] = fault
            self._armed = [fault for fault in self._armed if fault.remaining > 0]
        return Plan(
            fail_status=taken["fail"].status if "fail" in taken else None,
            hang_seconds=taken["hang"].seconds if "hang" in taken else 0.0,
            drop_response=("drop" in taken),
        )

    def pending(self) -> list[dict]:
        with self._lock:
            return [vars(fault).copy() for fault in self._armed] + (
                [{"kind": "refund_failure", "remaining": self._refund_failures}] if self._refund_failures else []
            )

    def clear(self) -> None:
        with self._lock:
            self._armed.clear()
            self._refund_failures = 0
