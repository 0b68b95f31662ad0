"""What push delivery knows about an endpoint server right now, for the operator.

The dispatcher keeps a circuit breaker per endpoint server in memory; this is
its read-only picture, so the console can show it without importing delivery.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from yarl import URL

NO_ENDPOINT = "-"


def endpoint_key(url: str | None) -> str:
    """Deliveries share a gate when they go to the same server (scheme, host, port)."""
    if not url:
        return NO_ENDPOINT
    try:
        return str(URL(url).origin())
    except ValueError:  # not an absolute URL: the attempt itself will report it
        return url


@dataclass(frozen=True, slots=True)
class EndpointHealth:
    """One endpoint server the dispatcher is tracking (closed and quiet ones are forgotten)."""

    endpoint: str
    breaker: str  # "closed", "open" or "half_open"
    consecutive_failures: int
    last_failure: str
    open_until: datetime | None
    in_flight: int
    waiting: int
