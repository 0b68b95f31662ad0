"""PushDispatcher: claims due push deliveries and POSTs them to agency endpoints.

Isolation: at most ``settings.workers`` pushes at once overall and
``settings.per_endpoint_concurrency`` per endpoint server, plus a circuit
breaker per endpoint. Work claimed for a busy endpoint waits in memory (it
keeps its lease and the attempt the claim counted), so a slow endpoint holds
only its own slots while claims go on for the others. An open circuit fails
its claims fast, through the retry policy, without touching the endpoint.
"""

from __future__ import annotations

import asyncio
import random
import ssl
import time
from collections.abc import Coroutine
from datetime import datetime
from typing import Any

import aiohttp
import structlog
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes

from edoc_axis import outgoing
from edoc_axis.clock import Clock
from edoc_axis.config import RetrySettings
from edoc_axis.core.health import EndpointHealth
from edoc_axis.delivery.breaker import CircuitBreaker
from edoc_axis.delivery.gates import NO_ENDPOINT, EndpointGate, endpoint_key
from edoc_axis.delivery.pusher import (
    ArrivalHook,
    AttemptHook,
    Pusher,
    RecordedHook,
    RelayHook,
    default_worker_id,
    owner_is_dead,
)
from edoc_axis.store import Claim, RetryAt, Store

log = structlog.get_logger("edoc_axis.delivery")


class PushDispatcher:
    """Background push delivery with leases, retries as values and per-endpoint isolation.

    ``start``/``stop`` run it in the background; ``run_until_idle`` drains
    what is due (and, with ``follow_retries``, the retries it schedules) for
    tests and the demo. ``on_attempt(label, seconds)`` is called after each
    real push with "delivered", "retry" or "dead".
    """

    def __init__(
        self,
        store: Store,
        clock: Clock,
        *,
        axis_key: CertificateIssuerPrivateKeyTypes,
        axis_cert: x509.Certificate,
        settings: RetrySettings,
        session: aiohttp.ClientSession | None = None,
        rng: random.Random | None = None,
        worker_id: str | None = None,
        on_attempt: AttemptHook | None = None,
        on_recorded: RecordedHook | None = None,
        poll_interval_s: float = 0.5,
        breaker_threshold: int = 5,
        breaker_cool_off_s: float = 30.0,
        max_held: int | None = None,
        ssl_context: ssl.SSLContext | None = None,
        relay_target: RelayHook | None = None,
        arrival: ArrivalHook | None = None,
    ) -> None:
        self._store, self._clock, self._settings = store, clock, settings
        self._pusher = Pusher(
            store,
            clock,
            axis_key=axis_key,
            axis_cert=axis_cert,
            settings=settings,
            rng=rng or random.Random(),  # noqa: S311  (back-off jitter, not a secret)
            on_attempt=on_attempt,
            on_recorded=on_recorded,
            relay_target=relay_target,
            arrival=arrival,
        )
        self._session, self._own_session = session, session is None
        # https:// endpoints are verified: by this context's CAs, else the system's.
        self._ssl: ssl.SSLContext | bool = True if ssl_context is None else ssl_context
        self.worker_id = worker_id or default_worker_id()
        self._poll_interval_s = poll_interval_s
        self._breaker_args = (breaker_threshold, breaker_cool_off_s)
        self._max_held = max_held if max_held is not None else 16 * settings.workers
        self._gates: dict[str, EndpointGate] = {}
        self._pushing = 0
        self._tasks: set[asyncio.Task[object]] = set()  # pushes and fail-fast conclusions
        self._writes: set[asyncio.Task[object]] = set()  # outcome writes, shielded from cancel
        self._wakeup = asyncio.Event()
        self._loop_task: asyncio.Task[None] | None = None
        self._stopping = False

    # -- running ---------------------------------------------------------------
    async def start(self) -> None:
        """Run the claim loop in the background until ``stop``."""
        if self._loop_task is not None:
            raise RuntimeError("the dispatcher is already running")
        self._stopping = False
        await self._release_dead_owners()
        self._open_session()
        self._loop_task = asyncio.create_task(self._run(), name="edoc-push-dispatcher")

    async def _release_dead_owners(self) -> None:
        """After a crash and restart, the dead process's claims come back at once."""
        now = self._clock.now()
        for owner in await self._store.lease_owners(now):
            if owner != self.worker_id and owner_is_dead(owner):
                released = await self._store.expire_leases(owner, now)
                log.info("delivery.leases_released", owner=owner, count=released)

    def wake(self) -> None:
        """Claim now instead of at the next poll (intake calls this after accepting)."""
        self._wakeup.set()

    async def stop(self, drain_timeout_s: float = 10.0) -> None:
        """Stop claiming, let pushes finish for up to ``drain_timeout_s``, record every outcome.

        Pushes still running after the drain are cancelled and recorded as
        due again at once; claims that never started are released the same way.
        """
        self._stopping = True
        self._wakeup.set()
        if self._loop_task is not None:
            await self._loop_task
            self._loop_task = None
        self._release_held("released: the worker stopped before pushing")
        if self._tasks:
            _, pending = await asyncio.wait(set(self._tasks), timeout=drain_timeout_s)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        await asyncio.gather(*set(self._tasks), *set(self._writes), return_exceptions=True)
        await self._close_session()

    async def run_until_idle(self, timeout_s: float = 30.0, *, follow_retries: bool = True) -> None:
        """Push everything due until nothing is left, then return (no background loop).

        With ``follow_retries`` it also waits for the retries it schedules that
        fall due before ``timeout_s`` (this needs a clock that moves with real
        time). Raises TimeoutError if pushes are still running at the deadline.
        """
        if self._loop_task is not None:
            raise RuntimeError("run_until_idle while the background loop runs")
        opened_here = self._session is None
        self._open_session()
        try:
            await self._drain(timeout_s, follow_retries)
        finally:
            if opened_here:
                await self._close_session()

    async def _drain(self, timeout_s: float, follow_retries: bool) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while True:
            self._wakeup.clear()
            if await self._fill():
                continue
            if self._busy():
                async with asyncio.timeout_at(deadline):
                    await self._wakeup.wait()
                continue
            wait_s = self._pusher.seconds_until_retry()
            if not follow_retries or wait_s is None or loop.time() + wait_s > deadline:
                return
            await self._wait(wait_s)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        # Another process of this host (a node or a --processes worker) that died
        # has its claims handed back at once rather than when its leases end.
        reap_every_s = max(5.0, self._settings.lease_s / 4)
        next_reap = loop.time() + reap_every_s
        while not self._stopping:
            self._wakeup.clear()
            if loop.time() >= next_reap:
                next_reap = loop.time() + reap_every_s
                try:
                    await self._release_dead_owners()
                except Exception:  # the store is down: the claim below says so too
                    log.warning("delivery.reap_failed", exc_info=True)
            try:
                claimed = await self._fill()
            except Exception:  # the store is down: keep the loop, try again later
                log.exception("delivery.claim_failed")
                claimed = 0
            if claimed == 0 or self._stopping:
                await self._wait(self._idle_wait_s())

    async def _wait(self, seconds: float) -> None:
        try:
            async with asyncio.timeout(max(0.0, seconds)):
                await self._wakeup.wait()
        except TimeoutError:
            pass

    def _open_session(self) -> None:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=outgoing.connector(limit=self._settings.workers, ssl=self._ssl)
            )

    async def _close_session(self) -> None:
        if self._own_session and self._session is not None:
            await self._session.close()
            self._session = None

    # -- claiming and dispatching ----------------------------------------------
    async def _fill(self) -> int:
        """Start what may start, claim what there is room for; return the number claimed."""
        now = self._clock.now()
        self._dispatch(now)
        held = sum(len(gate.held) for gate in self._gates.values())
        limit = min(self._settings.workers - self._pushing, self._max_held - held)
        if limit <= 0 or self._stopping:
            return 0
        claims = await self._store.claim_due_deliveries(
            now, limit, self._settings.lease_s, self.worker_id
        )
        self._pusher.forget_retries_due(now)  # that claim saw them
        for claim in claims:
            self._gate(endpoint_key(claim.endpoint_url)).held.append(claim)
        self._dispatch(self._clock.now())
        return len(claims)

    def endpoint_health(self) -> list[EndpointHealth]:
        """The endpoints with a failure streak, an open circuit or work in hand, by endpoint."""
        return [gate.health(key) for key, gate in sorted(self._gates.items())]

    def _gate(self, key: str) -> EndpointGate:
        gate = self._gates.get(key)
        if gate is None:
            gate = self._gates[key] = EndpointGate(CircuitBreaker(*self._breaker_args))
        return gate

    def _dispatch(self, now: datetime) -> None:
        """Start pushes round-robin over endpoints while slots are free."""
        if self._stopping:
            return
        started = True
        while started:
            started = False
            for key, gate in list(self._gates.items()):
                if gate.held and gate.breaker.is_open(now):
                    self._fail_fast(gate, now)
                elif gate.held and self._may_start(gate, now):
                    self._start(key, gate, gate.held.popleft(), now)
                    started = True
                if gate.idle:
                    self._gates.pop(key, None)

    def _start(self, key: str, gate: EndpointGate, claim: Claim, now: datetime) -> None:
        if claim.lease_until <= now:  # waited too long: another worker may own it now
            log.warning("delivery.lease_lost", axis_id=claim.axis_id, attempt=claim.attempt)
            gate.breaker.on_abandoned()
            return
        gate.in_flight += 1
        self._pushing += 1
        self._spawn(self._push(key, gate, claim), self._tasks)
        self._gates[key] = self._gates.pop(key)  # the next free slot goes to others first

    def _may_start(self, gate: EndpointGate, now: datetime) -> bool:
        return (
            self._pushing < self._settings.workers
            and gate.in_flight < self._settings.per_endpoint_concurrency
            and gate.breaker.try_acquire(now)  # last: in half-open state it takes the probe
        )

    def _fail_fast(self, gate: EndpointGate, now: datetime) -> None:
        result = gate.circuit_open_result(now)
        while gate.held:
            claim = gate.held.popleft()
            self._spawn(self._pusher.conclude(claim, result, None), self._tasks)

    def _release_held(self, reason: str) -> None:
        for gate in self._gates.values():
            while gate.held:
                claim = gate.held.popleft()
                self._spawn(
                    self._pusher.record(claim, RetryAt(self._clock.now(), reason)), self._writes
                )

    def _spawn(
        self, work: Coroutine[Any, Any, object], into: set[asyncio.Task[object]]
    ) -> asyncio.Task[object]:
        task = asyncio.create_task(work)
        into.add(task)

        def done(finished: asyncio.Task[object]) -> None:
            into.discard(finished)
            self._wakeup.set()

        task.add_done_callback(done)
        return task

    def _busy(self) -> bool:
        return bool(self._tasks or self._writes or any(g.held for g in self._gates.values()))

    def _idle_wait_s(self) -> float:
        own = self._pusher.seconds_until_retry()
        return self._poll_interval_s if own is None else min(own, self._poll_interval_s)

    # -- one delivery ------------------------------------------------------------
    async def _push(self, key: str, gate: EndpointGate, claim: Claim) -> None:
        started = time.monotonic()
        assert self._session is not None
        try:
            result = await self._pusher.attempt(self._session, claim)
        except asyncio.CancelledError:
            gate.breaker.on_abandoned()
            interrupted = RetryAt(self._clock.now(), "interrupted: the worker stopped mid-push")
            self._spawn(self._pusher.record(claim, interrupted), self._writes)
            raise
        except Exception:  # a store read failed: the lease will hand the claim back
            gate.breaker.on_abandoned()
            log.exception("delivery.error", axis_id=claim.axis_id, recipient=claim.recipient_code)
            return
        finally:
            gate.in_flight -= 1
            self._pushing -= 1
            # The slot is free now, not when the outcome is written: claim again at once.
            self._wakeup.set()
        if key != NO_ENDPOINT:
            gate.observe(result, self._clock.now())
        write = self._pusher.conclude(claim, result, time.monotonic() - started)
        await asyncio.shield(self._spawn(write, self._writes))  # a stop never loses an outcome
