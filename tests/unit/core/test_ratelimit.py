"""Per-agency token buckets (core/ratelimit.py): time is passed in."""

from __future__ import annotations

from edoc_axis.core.ratelimit import RateDecision, RateLimiter, TokenBucket


def test_a_full_bucket_allows_its_burst_then_refuses_with_a_wait() -> None:
    bucket = TokenBucket(rate_per_s=2.0, burst=3.0)
    assert [bucket.take(0.0).allowed for _ in range(3)] == [True, True, True]
    refused = bucket.take(0.0)
    assert refused == RateDecision(False, 1)  # one token at 2/s: 0.5 s, rounded up to 1


def test_tokens_refill_at_the_rate_and_never_beyond_the_burst() -> None:
    bucket = TokenBucket(rate_per_s=1.0, burst=2.0)
    bucket.take(0.0)
    bucket.take(0.0)
    assert not bucket.take(0.5).allowed
    assert bucket.take(1.0).allowed  # 1 s at 1/s: one token back
    # A long pause refills to the burst, not more.
    assert [bucket.take(100.0).allowed for _ in range(3)] == [True, True, False]


def test_the_wait_says_how_long_until_enough_tokens() -> None:
    bucket = TokenBucket(rate_per_s=0.1, burst=1.0)
    assert bucket.take(0.0).allowed
    assert bucket.take(0.0).retry_after_s == 10


def test_a_clock_going_backwards_does_not_add_tokens() -> None:
    bucket = TokenBucket(rate_per_s=1.0, burst=1.0, updated_at=50.0)
    assert bucket.take(50.0).allowed
    assert not bucket.take(10.0).allowed


def test_a_zero_rate_bucket_refuses_with_an_hour_once_empty() -> None:
    bucket = TokenBucket(rate_per_s=0.0, burst=1.0)
    assert bucket.take(0.0).allowed
    assert bucket.take(1e9) == RateDecision(False, 3600)


def test_each_agency_has_its_own_bucket() -> None:
    limiter = RateLimiter(rate_per_s=1.0, burst=1.0)
    assert limiter.take("G22", 0.0).allowed
    assert not limiter.take("G22", 0.0).allowed
    assert limiter.take("H49", 0.0).allowed  # another agency is not held up
    assert set(limiter.buckets) == {"G22", "H49"}


def test_a_new_agency_starts_full_at_the_time_it_is_first_seen() -> None:
    limiter = RateLimiter(rate_per_s=1.0, burst=2.0)
    assert limiter.take("G22", 1000.0).allowed
    assert limiter.take("G22", 1000.0).allowed
    assert not limiter.take("G22", 1000.0).allowed


def test_a_limiter_with_no_rate_allows_everything_and_keeps_no_state() -> None:
    limiter = RateLimiter(rate_per_s=0.0, burst=0.0)
    assert all(limiter.take("G22", 0.0).allowed for _ in range(1000))
    assert limiter.buckets == {}
