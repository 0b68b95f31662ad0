"""A circuit breaker per endpoint (pure: no I/O, time is passed in).

Closed: attempts flow. After ``failure_threshold`` consecutive failures it
opens: no attempt until ``cool_off_s`` has passed. Then it is half-open: one
probe may go; its success closes the circuit, its failure opens it again for
another cool-off.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


@dataclass
class CircuitBreaker:
    """Consecutive-failure breaker with a single half-open probe."""

    failure_threshold: int = 5
    cool_off_s: float = 30.0
    state: BreakerState = field(default=BreakerState.CLOSED, init=False)
    failures: int = field(default=0, init=False)
    open_until: datetime | None = field(default=None, init=False)
    probe_in_flight: bool = field(default=False, init=False)

    def __post_init__(self) -> None:
        if self.failure_threshold < 1:
            raise ValueError("failure_threshold must be at least 1")
        if self.cool_off_s < 0:
            raise ValueError("cool_off_s must not be negative")

    def is_open(self, now: datetime) -> bool:
        """True while attempts must not be made (the cool-off has not passed)."""
        return self.state == BreakerState.OPEN and (
            self.open_until is None or now < self.open_until
        )

    def try_acquire(self, now: datetime) -> bool:
        """May an attempt start now? In half-open state this takes the one probe slot."""
        if self.state == BreakerState.CLOSED:
            return True
        if self.is_open(now):
            return False
        # The cool-off is over (or we were already half-open): one probe at a time.
        self.state = BreakerState.HALF_OPEN
        if self.probe_in_flight:
            return False
        self.probe_in_flight = True
        return True

    def on_success(self) -> None:
        """The endpoint answered like a live server: close the circuit."""
        self.state = BreakerState.CLOSED
        self.failures = 0
        self.open_until = None
        self.probe_in_flight = False

    def on_abandoned(self) -> None:
        """An attempt ended without an answer either way (the worker stopped)."""
        self.probe_in_flight = False

    def on_failure(self, now: datetime) -> None:
        """The endpoint failed (timeout, connection, 5xx, 408/429)."""
        self.failures += 1
        probe_failed = self.state == BreakerState.HALF_OPEN
        self.probe_in_flight = False
        if probe_failed or self.failures >= self.failure_threshold:
            self.state = BreakerState.OPEN
            self.open_until = now + timedelta(seconds=self.cool_off_s)

    def seconds_until_probe(self, now: datetime) -> float:
        """How long an open circuit still refuses attempts (0 when it does not)."""
        if not self.is_open(now) or self.open_until is None:
            return 0.0
        return (self.open_until - now).total_seconds()
