"""Per-endpoint isolation: a concurrency count, a breaker and claimed work waiting its turn."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import datetime

from edoc_axis.core.health import NO_ENDPOINT, EndpointHealth, endpoint_key
from edoc_axis.core.retry import AttemptKind, AttemptResult
from edoc_axis.delivery.attempt import endpoint_failed
from edoc_axis.delivery.breaker import BreakerState, CircuitBreaker
from edoc_axis.store import Claim


@dataclass
class EndpointGate:
    """What the dispatcher knows about one endpoint server."""

    breaker: CircuitBreaker
    in_flight: int = 0
    # Claimed deliveries waiting for a free slot of this endpoint. They keep
    # their lease and their counted attempt, which the push will use.
    held: deque[Claim] = field(default_factory=deque)
    last_failure: str = ""

    @property
    def idle(self) -> bool:
        """Nothing to remember: no work and a closed circuit with no failure streak."""
        return (
            not self.held
            and self.in_flight == 0
            and self.breaker.state == BreakerState.CLOSED
            and self.breaker.failures == 0
        )

    def health(self, endpoint: str) -> EndpointHealth:
        """The operator's picture of this gate."""
        return EndpointHealth(
            endpoint=endpoint,
            breaker=str(self.breaker.state),
            consecutive_failures=self.breaker.failures,
            last_failure=self.last_failure,
            open_until=self.breaker.open_until,
            in_flight=self.in_flight,
            waiting=len(self.held),
        )

    def observe(self, result: AttemptResult, now: datetime) -> None:
        """Feed what a push saw to the breaker."""
        if endpoint_failed(result):
            self.last_failure = result.describe()
            self.breaker.on_failure(now)
        else:
            self.breaker.on_success()

    def circuit_open_result(self, now: datetime) -> AttemptResult:
        """What a claim failed fast because the circuit is open counts as having seen.

        The claim already counted the attempt; the retry policy decides as for
        a failed push, with the rest of the cool-off as a floor, so an open
        circuit never spends attempts faster than real failures would.
        """
        return AttemptResult(
            AttemptKind.CONNECTION,
            retry_after_s=self.breaker.seconds_until_probe(now),
            detail=f"circuit open, endpoint not tried (last failure: {self.last_failure})",
        )


__all__ = ["NO_ENDPOINT", "EndpointGate", "endpoint_key"]
