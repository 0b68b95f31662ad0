"""What the operator sees of an endpoint gate (core.health.EndpointHealth)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from edoc_axis.core.health import NO_ENDPOINT, endpoint_key
from edoc_axis.core.retry import AttemptKind, AttemptResult
from edoc_axis.delivery.breaker import CircuitBreaker
from edoc_axis.delivery.gates import EndpointGate

T0 = datetime(2026, 11, 28, 8, 0, tzinfo=UTC)


def test_a_gate_shows_its_breaker_its_streak_and_its_last_failure() -> None:
    gate = EndpointGate(CircuitBreaker(failure_threshold=2, cool_off_s=60))
    refused = AttemptResult(AttemptKind.CONNECTION, detail="connection refused")
    gate.observe(refused, T0)
    health = gate.health("https://h49.example")
    assert (health.breaker, health.consecutive_failures, health.open_until) == ("closed", 1, None)
    assert "connection refused" in health.last_failure
    gate.observe(refused, T0)
    health = gate.health("https://h49.example")
    assert (health.breaker, health.consecutive_failures) == ("open", 2)
    assert health.open_until == T0 + timedelta(seconds=60)
    gate.observe(AttemptResult(AttemptKind.HTTP, http_status=200), T0)
    assert gate.health("https://h49.example").breaker == "closed"


def test_endpoints_share_a_key_by_origin() -> None:
    assert endpoint_key("https://H49.example:443/edoc/in") == "https://h49.example"
    assert endpoint_key("http://127.0.0.1:8080/a") == endpoint_key("http://127.0.0.1:8080/b")
    assert endpoint_key(None) == NO_ENDPOINT == endpoint_key("")
