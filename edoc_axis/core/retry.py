"""The push retry decision as a value (pure): given what an attempt saw, what next."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from enum import StrEnum
from typing import ClassVar


class AttemptKind(StrEnum):
    HTTP = "http"  # the endpoint answered with a status
    TIMEOUT = "timeout"
    CONNECTION = "connection"  # refused, reset, DNS, TLS


@dataclass(frozen=True)
class AttemptResult:
    """What one push attempt saw: the input of the retry policy, not its outcome."""

    kind: AttemptKind
    http_status: int | None = None
    retry_after_s: float | None = None
    detail: str = ""
    answer: bytes = field(default=b"", repr=False, compare=False)  # a 2xx body, when kept

    @property
    def delivered(self) -> bool:
        return self.kind == AttemptKind.HTTP and 200 <= (self.http_status or 0) < 300

    def describe(self) -> str:
        if self.kind == AttemptKind.HTTP:
            return f"HTTP {self.http_status}" + (f": {self.detail}" if self.detail else "")
        return f"{self.kind.value}: {self.detail}" if self.detail else self.kind.value


# What became of a push attempt: the retry policy returns one, the store records
# it (``Store.record_outcome``), the delivery hook and the metrics read it.
@dataclass(frozen=True, slots=True)
class Delivered:
    """The endpoint took the document (2xx)."""

    label: ClassVar[str] = "delivered"  # the metrics label
    # What the endpoint answered (kept for a relay: the next axis's signed receipt).
    answer: bytes = field(default=b"", repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class RetryAt:
    """Try again at ``next_attempt_at``; ``error`` says why this attempt failed."""

    next_attempt_at: datetime
    error: str
    label: ClassVar[str] = "retry"


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """No more tries; an operator may retry or discard it."""

    error: str
    # The endpoint refused for good, as opposed to running out of tries. Only
    # logged: the store keeps the same dead letter either way.
    permanent: bool = False
    label: ClassVar[str] = "dead"


Outcome = Delivered | RetryAt | DeadLetter

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
        result: AttemptResult,
        now: datetime,
        first_queued_at: datetime,
        rng: random.Random,
    ) -> Outcome:
        """What to do after attempt number ``attempt`` (1-based) ended with ``result``."""
        if result.delivered:
            return Delivered()
        reason = result.describe()
        status = result.http_status or 0
        if result.kind == AttemptKind.HTTP and status < 500 and status not in _RETRYABLE_4XX:
            return DeadLetter(f"endpoint refused: {reason}", permanent=True)
        if attempt >= self.max_attempts:
            return DeadLetter(f"{attempt} attempts failed, last: {reason}")
        delay = max(self.backoff_s(attempt, rng), result.retry_after_s or 0.0)
        at = now + timedelta(seconds=delay)
        if at > first_queued_at + timedelta(seconds=self.max_age_s):
            return DeadLetter(f"gave up after {self.max_age_s:.0f} s, last: {reason}")
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
