"""The circuit breaker as a table (pure logic; lives here with the delivery code it serves)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from edoc_axis.delivery import BreakerState, CircuitBreaker

T0 = datetime(2026, 1, 1, tzinfo=UTC)

# Each step: (action, seconds after T0, expected result of "acquire" or None, state after).
Step = tuple[str, float, bool | None, BreakerState]
C, OPEN, H = BreakerState.CLOSED, BreakerState.OPEN, BreakerState.HALF_OPEN

CASES: dict[str, list[Step]] = {
    "closed lets everything through": [
        ("acquire", 0, True, C),
        ("acquire", 0, True, C),
        ("success", 0, None, C),
    ],
    "failures below the threshold keep it closed": [
        ("fail", 0, None, C),
        ("fail", 0, None, C),
        ("acquire", 0, True, C),
    ],
    "a success resets the streak": [
        ("fail", 0, None, C),
        ("fail", 0, None, C),
        ("success", 0, None, C),
        ("fail", 0, None, C),
        ("fail", 0, None, C),
        ("acquire", 0, True, C),
    ],
    "the threshold opens it for the cool-off": [
        ("fail", 0, None, C),
        ("fail", 0, None, C),
        ("fail", 1, None, OPEN),
        ("acquire", 1, False, OPEN),
        ("acquire", 10.9, False, OPEN),
    ],
    "after the cool-off one probe goes": [
        *[("fail", 0, None, C)] * 2,
        ("fail", 0, None, OPEN),
        ("acquire", 10, True, H),
        ("acquire", 10, False, H),
        ("acquire", 50, False, H),
    ],
    "a successful probe closes it": [
        *[("fail", 0, None, C)] * 2,
        ("fail", 0, None, OPEN),
        ("acquire", 10, True, H),
        ("success", 10, None, C),
        ("acquire", 10, True, C),
        ("acquire", 10, True, C),
    ],
    "a failed probe opens it again for a full cool-off": [
        *[("fail", 0, None, C)] * 2,
        ("fail", 0, None, OPEN),
        ("acquire", 10, True, H),
        ("fail", 12, None, OPEN),
        ("acquire", 21.9, False, OPEN),
        ("acquire", 22, True, H),
    ],
    "an abandoned probe frees the probe slot": [
        *[("fail", 0, None, C)] * 2,
        ("fail", 0, None, OPEN),
        ("acquire", 10, True, H),
        ("abandon", 10, None, H),
        ("acquire", 10, True, H),
    ],
}


@pytest.mark.parametrize("steps", CASES.values(), ids=CASES.keys())
def test_breaker_table(steps: list[Step]) -> None:
    breaker = CircuitBreaker(failure_threshold=3, cool_off_s=10.0)
    for number, (action, seconds, expected, state) in enumerate(steps):
        now = T0 + timedelta(seconds=seconds)
        result: bool | None = None
        if action == "acquire":
            result = breaker.try_acquire(now)
        elif action == "fail":
            breaker.on_failure(now)
        elif action == "success":
            breaker.on_success()
        else:
            breaker.on_abandoned()
        assert (result, breaker.state) == (expected, state), f"step {number}: {action}@{seconds}"


def test_seconds_until_probe() -> None:
    breaker = CircuitBreaker(failure_threshold=1, cool_off_s=30.0)
    assert breaker.seconds_until_probe(T0) == 0.0
    breaker.on_failure(T0)
    assert breaker.seconds_until_probe(T0 + timedelta(seconds=10)) == 20.0
    assert breaker.seconds_until_probe(T0 + timedelta(seconds=30)) == 0.0


@pytest.mark.parametrize(("threshold", "cool_off"), [(0, 1.0), (1, -1.0)])
def test_nonsense_settings_are_refused(threshold: int, cool_off: float) -> None:
    with pytest.raises(ValueError):
        CircuitBreaker(failure_threshold=threshold, cool_off_s=cool_off)
