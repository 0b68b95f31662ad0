"""The push retry decision as a value (pure): given an attempt's outcome, what next."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from enum import StrEnum


class AttemptKind(StrEnum):
    HTTP = "http"  # the endpoint answered with a status
    TIMEOUT = "timeout"
    CONNECTION = "connection"  # refused, reset, DNS, TLS


@dataclass(frozen=True)
class AttemptOutcome:
    kind: AttemptKind
    http_status: int | None = None
    retry_after_s: float | None = None
    detail: str = ""

    @property
    def delivered(self) -> bool:
        return self.kind == AttemptKind.HTTP and 200 <= (self.http_status or 0) < 300

    def describe(self) -> str:
        if self.kind == AttemptKind.HTTP:
            return f"HTTP {self.http_status}" + (f": {self.detail}" if self.detail else "")
        return f"{self.kind.value}: {self.detail}" if self.detail else self.kind.value


@dataclass(frozen=True)
class Deliver:
    """The attempt succeeded."""


@dataclass(frozen=True)
class RetryAt:
    at: datetime
    reason: str


@dataclass(frozen=True)
class GiveUp:
    reason: str
    permanent: bool  # the endpoint refused for good, as opposed to running out of tries


Decision = Deliver | RetryAt | GiveUp

_RETRYABLE_4XX = frozenset({408, 429})


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential back-off with full jitter, bounded by attempts and age.

    ``Retry-After`` from the endpoint is honoured as a floor on the delay.
    """

    base_s: float = 2.0
    cap_s: float = 600.0
    max_attempts: int = 12
    max_age_s: float = 72 * 3600.0

    def backoff_s(self, attempt: int, rng: random.Random) -> float:
        ceiling = min(self.cap_s, self.base_s * (2 ** max(0, attempt - 1)))
        return rng.uniform(0.0, ceiling)

    def decide(
        self,
        attempt: int,
        outcome: AttemptOutcome,
        now: datetime,
        first_queued_at: datetime,
        rng: random.Random,
    ) -> Decision:
        """What to do after attempt number ``attempt`` (1-based) ended with ``outcome``."""
        if outcome.delivered:
            return Deliver()
        reason = outcome.describe()
        status = outcome.http_status or 0
        if outcome.kind == AttemptKind.HTTP and status < 500 and status not in _RETRYABLE_4XX:
            return GiveUp(f"endpoint refused: {reason}", permanent=True)
        if attempt >= self.max_attempts:
            return GiveUp(f"{attempt} attempts failed, last: {reason}", permanent=False)
        delay = max(self.backoff_s(attempt, rng), outcome.retry_after_s or 0.0)
        at = now + timedelta(seconds=delay)
        if at > first_queued_at + timedelta(seconds=self.max_age_s):
            return GiveUp(f"gave up after {self.max_age_s:.0f} s, last: {reason}", False)
        return RetryAt(at, reason)


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or HTTP date); None if absent/bad."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, (when - now).total_seconds())
