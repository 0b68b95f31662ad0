"""The per-endpoint circuit breaker (delivery/breaker.py): time is passed in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from edoc_axis.delivery.breaker import BreakerState, CircuitBreaker

T0 = datetime(2026, 11, 28, 8, 0, tzinfo=UTC)


def opened(threshold: int = 3, cool_off_s: float = 30.0) -> CircuitBreaker:
    breaker = CircuitBreaker(failure_threshold=threshold, cool_off_s=cool_off_s)
    for _ in range(threshold):
        assert breaker.try_acquire(T0)
        breaker.on_failure(T0)
    return breaker


def test_a_closed_breaker_lets_attempts_through_until_the_threshold() -> None:
    breaker = CircuitBreaker(failure_threshold=3, cool_off_s=30.0)
    for _ in range(2):
        assert breaker.try_acquire(T0)
        breaker.on_failure(T0)
    assert breaker.state is BreakerState.CLOSED
    assert breaker.try_acquire(T0)
    breaker.on_failure(T0)
    assert breaker.state is BreakerState.OPEN
    assert not breaker.try_acquire(T0)


def test_a_success_resets_the_consecutive_failure_count() -> None:
    breaker = CircuitBreaker(failure_threshold=2)
    breaker.on_failure(T0)
    breaker.on_success()
    breaker.on_failure(T0)
    assert breaker.state is BreakerState.CLOSED


def test_an_open_breaker_says_how_long_until_its_probe() -> None:
    breaker = opened(cool_off_s=30.0)
    assert breaker.is_open(T0 + timedelta(seconds=29))
    assert breaker.seconds_until_probe(T0 + timedelta(seconds=10)) == pytest.approx(20.0)
    assert breaker.seconds_until_probe(T0 + timedelta(seconds=30)) == 0.0
    assert CircuitBreaker().seconds_until_probe(T0) == 0.0


def test_after_the_cool_off_exactly_one_probe_goes() -> None:
    breaker = opened()
    later = T0 + timedelta(seconds=30)
    assert breaker.try_acquire(later)
    assert breaker.state is BreakerState.HALF_OPEN
    assert not breaker.try_acquire(later)  # a second attempt waits for the probe


def test_a_successful_probe_closes_the_circuit() -> None:
    breaker = opened()
    later = T0 + timedelta(seconds=31)
    assert breaker.try_acquire(later)
    breaker.on_success()
    assert breaker.state is BreakerState.CLOSED
    assert breaker.failures == 0
    assert breaker.try_acquire(later) and breaker.try_acquire(later)


def test_a_failed_probe_opens_again_for_a_full_cool_off() -> None:
    breaker = opened(threshold=5, cool_off_s=30.0)
    later = T0 + timedelta(seconds=30)
    assert breaker.try_acquire(later)
    breaker.on_failure(later)
    assert breaker.state is BreakerState.OPEN
    assert not breaker.try_acquire(later + timedelta(seconds=29))
    assert breaker.try_acquire(later + timedelta(seconds=30))


def test_an_abandoned_probe_frees_the_slot_for_another() -> None:
    breaker = opened()
    later = T0 + timedelta(seconds=30)
    assert breaker.try_acquire(later)
    breaker.on_abandoned()
    assert breaker.state is BreakerState.HALF_OPEN
    assert breaker.try_acquire(later)


@pytest.mark.parametrize(("threshold", "cool_off"), [(0, 30.0), (1, -1.0)])
def test_nonsense_settings_are_refused(threshold: int, cool_off: float) -> None:
    with pytest.raises(ValueError):
        CircuitBreaker(failure_threshold=threshold, cool_off_s=cool_off)
