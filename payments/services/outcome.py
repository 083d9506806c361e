"""What applying a gateway fact (a webhook, or the gateway read back by reconciliation) did."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Applied:
    """`changed` is False for a no-op (a repeat, a late or stale fact, or not ours): its event is IGNORED."""

    changed: bool
    detail: str
