"""RetryPolicy.decide as a table."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from edoc_axis.core.retry import (
    AttemptKind,
    AttemptResult,
    DeadLetter,
    Delivered,
    RetryAt,
    RetryPolicy,
    parse_retry_after,
)

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
POLICY = RetryPolicy(base_s=2.0, cap_s=60.0, max_attempts=5, max_age_s=3600.0)


def http(status: int, retry_after: float | None = None) -> AttemptResult:
    return AttemptResult(AttemptKind.HTTP, status, retry_after)


@pytest.mark.parametrize(
    ("outcome", "expected"),
    [
        (http(200), Delivered),
        (http(204), Delivered),
        (http(400), DeadLetter),
        (http(403), DeadLetter),
        (http(404), DeadLetter),
        (http(408), RetryAt),
        (http(429), RetryAt),
        (http(500), RetryAt),
        (http(503), RetryAt),
        (AttemptResult(AttemptKind.TIMEOUT), RetryAt),
        (AttemptResult(AttemptKind.CONNECTION, detail="refused"), RetryAt),
    ],
)
def test_outcome_table(outcome: AttemptResult, expected: type) -> None:
    decision = POLICY.decide(1, outcome, NOW, NOW, random.Random(1))
    assert isinstance(decision, expected)
    if isinstance(decision, DeadLetter):
        assert decision.permanent


def test_gives_up_after_max_attempts_not_permanent() -> None:
    decision = POLICY.decide(5, http(503), NOW, NOW, random.Random(1))
    assert isinstance(decision, DeadLetter)
    assert not decision.permanent
    assert "5 attempts" in decision.error


def test_gives_up_when_next_try_would_pass_max_age() -> None:
    queued = NOW - timedelta(seconds=3599)
    decision = POLICY.decide(2, http(500, retry_after=30), NOW, queued, random.Random(1))
    assert isinstance(decision, DeadLetter)


@pytest.mark.parametrize("attempt", [1, 2, 3, 4])
def test_full_jitter_stays_under_the_exponential_ceiling(attempt: int) -> None:
    rng = random.Random(attempt)
    ceiling = min(60.0, 2.0 * 2 ** (attempt - 1))
    delays = [POLICY.backoff_s(attempt, rng) for _ in range(200)]
    assert all(0.0 <= d <= ceiling for d in delays)
    assert max(delays) > ceiling / 2  # jitter actually spreads


def test_retry_after_is_a_floor() -> None:
    decision = POLICY.decide(1, http(429, retry_after=45), NOW, NOW, random.Random(1))
    assert isinstance(decision, RetryAt)
    assert decision.next_attempt_at >= NOW + timedelta(seconds=45)


def test_cap_bounds_the_backoff() -> None:
    rng = random.Random(3)
    assert all(POLICY.backoff_s(30, rng) <= 60.0 for _ in range(100))


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("120", 120.0),
        (None, None),
        ("soon", None),
        ("Mon, 23 Nov 2026 08:01:00 GMT", 60.0),
    ],
)
def test_parse_retry_after(header: str | None, seconds: float | None) -> None:
    assert parse_retry_after(header, NOW) == seconds


def test_each_outcome_names_its_metrics_label() -> None:
    # The dashboards count edoc_deliveries_total by these three labels.
    labels = [Delivered().label, RetryAt(NOW, "x").label, DeadLetter("x").label]
    assert labels == ["delivered", "retry", "dead"]
