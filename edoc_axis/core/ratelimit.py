"""Per-agency token buckets (pure: the caller passes the time)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class RateDecision:
    allowed: bool
    retry_after_s: int = 0


@dataclass
class TokenBucket:
    """Classic token bucket: ``rate_per_s`` refill, ``burst`` capacity."""

    rate_per_s: float
    burst: float
    tokens: float = field(default=-1.0)
    updated_at: float = 0.0

    def __post_init__(self) -> None:
        if self.tokens < 0:
            self.tokens = self.burst

    def take(self, now_s: float, cost: float = 1.0) -> RateDecision:
        elapsed = max(0.0, now_s - self.updated_at)
        self.tokens = min(self.burst, self.tokens + elapsed * self.rate_per_s)
        self.updated_at = now_s
        if self.tokens >= cost:
            self.tokens -= cost
            return RateDecision(True)
        missing = cost - self.tokens
        wait = missing / self.rate_per_s if self.rate_per_s > 0 else 3600.0
        return RateDecision(False, max(1, math.ceil(wait)))


class Limiter(Protocol):
    def take(self, key: str, now_s: float) -> RateDecision:
        """Take one token of ``key``'s bucket at ``now_s``, or say how long to wait."""
        ...


@dataclass
class RateLimiter:
    """One bucket per key (agency code); ``rate_per_s <= 0`` disables limiting."""

    rate_per_s: float
    burst: float
    buckets: dict[str, TokenBucket] = field(default_factory=dict)

    def take(self, key: str, now_s: float) -> RateDecision:
        if self.rate_per_s <= 0:
            return RateDecision(True)
        bucket = self.buckets.get(key)
        if bucket is None:
            bucket = TokenBucket(self.rate_per_s, self.burst, updated_at=now_s)
            self.buckets[key] = bucket
        return bucket.take(now_s)
