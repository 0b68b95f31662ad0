"""One push delivery: sign and POST it, decide with the retry policy, record the outcome.

No scheduling here; the dispatcher decides when and how many.
"""

from __future__ import annotations

import heapq
import os
import random
import secrets
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime

import aiohttp
import structlog
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes

from edoc_axis.clock import Clock
from edoc_axis.config import RetrySettings
from edoc_axis.core.delivery_auth import DeliveryFacts, delivery_headers_for_digest
from edoc_axis.core.retry import (
    AttemptKind,
    AttemptResult,
    DeadLetter,
    Delivered,
    Outcome,
    RetryAt,
    RetryPolicy,
)
from edoc_axis.delivery.attempt import post_delivery
from edoc_axis.errors import NotFound
from edoc_axis.store import Claim, NewDocument, NewStatus, Store, StoredDocument
from edoc_axis.store.base import document_pieces

AttemptHook = Callable[[str, float], None]
# Where a push to a remote agency goes instead (a peer axis's relay resource) and
# the headers it adds (token, relay path); None for a local agency's endpoint; a
# text: why it cannot be pushed now (retried like an endpoint that is down).
RelayHook = Callable[
    [str, StoredDocument | None], Awaitable[tuple[str, dict[str, str]] | str | None]
]
# Called after an outcome is recorded (not for stale ones): the wiring keeps a
# relay's receipt here and tells the sender of a dead letter.
RecordedHook = Callable[[Claim, Outcome], Awaitable[None]]
# Composes the 01 a delivered push makes (and its push copy to the sender), which
# the store writes in the outcome's own transaction; None for no 01 (a relay).
ArrivalHook = Callable[
    [Claim, StoredDocument], Awaitable[tuple[NewStatus, NewDocument | None] | None]
]
log = structlog.get_logger("edoc_axis.delivery")


def default_worker_id() -> str:
    """Unique per dispatcher, readable in the store's lease owner column."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


def owner_is_dead(owner: str) -> bool:
    """True only for a lease owner of this host whose process no longer runs.

    Owners of other hosts, or whose pid is alive (even if reused), are left to
    their lease's natural end: releasing early must never double a push.
    """
    host, _, rest = owner.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


class Pusher:
    """Makes and records single push attempts for the dispatcher."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        *,
        axis_key: CertificateIssuerPrivateKeyTypes,
        axis_cert: x509.Certificate,
        settings: RetrySettings,
        rng: random.Random,
        on_attempt: AttemptHook | None,
        on_recorded: RecordedHook | None = None,
        relay_target: RelayHook | None = None,
        arrival: ArrivalHook | None = None,
    ) -> None:
        self._store, self._clock = store, clock
        self._arrival = arrival
        # The document each attempt in flight pushed, for its 01 at the outcome.
        self._pushed: dict[int, StoredDocument] = {}
        self._relay_target = relay_target
        self._key, self._cert = axis_key, axis_cert
        self._policy = RetryPolicy(
            settings.base_s, settings.cap_s, settings.max_attempts, settings.max_age_s
        )
        self._rng, self._on_attempt, self._on_recorded = rng, on_attempt, on_recorded
        self._retry_times: list[datetime] = []  # a heap of the retries recorded here
        self._timeout = aiohttp.ClientTimeout(
            total=None, connect=settings.connect_timeout_s, sock_read=settings.read_timeout_s
        )

    async def attempt(self, session: aiohttp.ClientSession, claim: Claim) -> AttemptResult:
        """POST the exact stored bytes with the axis's delivery signature.

        A remote agency's delivery goes to its peer axis's relay resource, with
        the token and relay path the hook adds, and keeps the peer's receipt.
        """
        # The bytes and the document in one read (one hop to a reader, not two).
        addressed = await self._store.addressed(
            claim.axis_id, claim.recipient_code, with_bytes=True
        )
        if addressed is None:
            raise NotFound(f"no document {claim.axis_id} for {claim.recipient_code}")
        document = addressed.document
        self._pushed[claim.delivery_id] = document  # until its outcome is recorded
        try:
            return await self._post(session, claim, document, addressed.raw)
        except BaseException:
            # No outcome from this attempt (the dispatcher records an interruption
            # itself), so nothing to keep: the map holds only attempts in flight.
            self._pushed.pop(claim.delivery_id, None)
            raise

    async def _post(
        self,
        session: aiohttp.ClientSession,
        claim: Claim,
        document: StoredDocument,
        raw: bytes | None,
    ) -> AttemptResult:
        """POST ``raw``, or for a large document (``raw`` None) its pieces as they are read."""
        relay = None
        if self._relay_target is not None:
            relay = await self._relay_target(claim.recipient_code, document)
        if isinstance(relay, str):
            return AttemptResult(AttemptKind.CONNECTION, detail=relay)
        url = relay[0] if relay is not None else claim.endpoint_url
        if not url:
            return AttemptResult(AttemptKind.CONNECTION, detail="the agency has no endpoint URL")
        now = self._clock.now()
        facts = DeliveryFacts(
            kind=document.kind,
            axis_id=claim.axis_id,
            sender=claim.sender_code,
            recipient=claim.recipient_code,
            attempt=claim.attempt,
            timestamp=int(now.timestamp()),
        )
        # Signed over the stored digest: the bytes sent are the ones it was taken of.
        digest = bytes.fromhex(document.sha256)
        headers = delivery_headers_for_digest(facts, digest, self._key, self._cert)
        body: bytes | AsyncIterator[bytes]
        if raw is not None:
            body = raw
        else:
            body = document_pieces(self._store, document)
            headers["Content-Length"] = str(document.size)
        headers["Content-Type"] = "application/xml"
        if relay is not None:
            headers.update(relay[1])
        return await post_delivery(
            session, url, body, headers, self._timeout, now, keep_answer=relay is not None
        )

    async def conclude(
        self, claim: Claim, result: AttemptResult, seconds: float | None
    ) -> Outcome | None:
        """Decide and record; ``seconds`` is None when the endpoint was not tried.

        Returns what was recorded, or None for a stale attempt.
        """
        now = self._clock.now()
        outcome: Outcome
        if result.delivered:
            # the policy needs the queue time only for a failure
            outcome = Delivered(answer=result.answer)
        else:
            delivery = await self._store.delivery_for(claim.axis_id, claim.recipient_code)
            first_queued_at = delivery.created_at if delivery is not None else now
            outcome = self._policy.decide(claim.attempt, result, now, first_queued_at, self._rng)
        log.info(
            "delivery.attempt",
            axis_id=claim.axis_id,
            recipient=claim.recipient_code,
            attempt=claim.attempt,
            outcome=result.describe(),
            seconds=None if seconds is None else round(seconds, 3),
        )
        if self._on_attempt is not None and seconds is not None:
            self._on_attempt(outcome.label, seconds)
        return await self.record(claim, outcome)

    async def record(self, claim: Claim, outcome: Outcome) -> Outcome | None:
        """Write the outcome if this attempt still owns the delivery; None if it is stale."""
        bound = log.bind(
            axis_id=claim.axis_id,
            recipient=claim.recipient_code,
            attempt=claim.attempt,
            delivery_id=claim.delivery_id,
        )
        at = self._clock.now()
        document = self._pushed.pop(claim.delivery_id, None)
        arrival = forward = None
        if isinstance(outcome, Delivered) and document is not None and self._arrival is not None:
            writes = await self._arrival(claim, document)
            if writes is not None:
                arrival, forward = writes
        recorded = await self._store.record_outcome(
            claim.delivery_id, claim.attempt, outcome, at, arrival=arrival, forward=forward
        )
        if not recorded:
            # Our lease ran out and another attempt owns the delivery now.
            bound.warning("delivery.stale_outcome", outcome=outcome.label)
            return None
        if isinstance(outcome, Delivered):
            bound.info("delivery.delivered")
        elif isinstance(outcome, RetryAt):
            heapq.heappush(self._retry_times, outcome.next_attempt_at)
            bound.info(
                "delivery.retry_scheduled",
                next_attempt_at=outcome.next_attempt_at.isoformat(),
                reason=outcome.error,
            )
        elif isinstance(outcome, DeadLetter):
            bound.warning(
                "delivery.dead_lettered", reason=outcome.error, permanent=outcome.permanent
            )
        if self._on_recorded is not None:
            try:
                await self._on_recorded(claim, outcome)
            except Exception:  # a hook must never undo or block a recorded outcome
                bound.exception("delivery.hook_failed")
        return outcome

    def seconds_until_retry(self) -> float | None:
        """How soon the earliest retry recorded here falls due (None: no retry pending)."""
        if not self._retry_times:
            return None
        return max(0.0, (self._retry_times[0] - self._clock.now()).total_seconds())

    def forget_retries_due(self, now: datetime) -> None:
        """Drop the retries due by ``now``: a claim made at ``now`` has seen them."""
        while self._retry_times and self._retry_times[0] <= now:
            heapq.heappop(self._retry_times)
