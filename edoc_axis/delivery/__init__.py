"""Push delivery: workers that POST stored documents to agency endpoints.

An adapter over the store interface and the pure core; it never imports the
HTTP server (``edoc_axis.server``), which only calls ``PushDispatcher.wake``.
"""

from edoc_axis.delivery.breaker import BreakerState, CircuitBreaker
from edoc_axis.delivery.dispatcher import PushDispatcher
from edoc_axis.delivery.pusher import AttemptHook, default_worker_id

__all__ = [
    "AttemptHook",
    "BreakerState",
    "CircuitBreaker",
    "PushDispatcher",
    "default_worker_id",
]
