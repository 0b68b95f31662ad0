"""What every package submission goes through before its own handling.

The per-agency rate limit, the in-flight byte budget (held until the answer
is ready), the body read with its size limit, and the CPU-bound examination
(safe parse, schema, model, signature, certificate): on the event loop for a
small body (``inline_examination_bytes``), else on the worker pool, at most
``max_examinations_per_agency`` of one agency at once (server/fairness.py).
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import structlog
from aiohttp import web

from edoc_axis.core.intake import Examined, examine
from edoc_axis.errors import RateLimited
from edoc_axis.server.bodies import BodyLease, BodyPace, read_package_body
from edoc_axis.server.context import AxisServices
from edoc_axis.store import Agency, Peer

log = structlog.get_logger("edoc_axis.intake")

# Reads a request's package bytes within a size limit, holding them on the lease,
# at the pace the limits demand.
BodyReader = Callable[[web.Request, int, BodyLease, BodyPace], Awaitable[bytes]]


@asynccontextmanager
async def admitted(
    request: web.Request,
    services: AxisServices,
    caller: Agency | Peer,
    *,
    expect_kind: str,
    signature_required: bool = True,
    read_body: BodyReader = read_package_body,
) -> AsyncIterator[Examined]:
    """Yield the examined package; its bytes count against the budget until exit.

    ``caller`` is the agency, or the peer axis relaying, whose rate, bytes and
    examination slots are taken (a peer's own: ``[federation]``).
    """
    now = services.clock.now()
    if isinstance(caller, Peer):
        key, limiter, slots = (
            f"peer:{caller.name}",
            services.peer_limiter,
            services.peer_examinations,
        )
    else:
        key, limiter, slots = caller.code, services.limiter, services.examinations
    decision = limiter.take(key, now.timestamp())
    if not decision.allowed:
        raise RateLimited(f"{key} is over its rate limit", retry_after_s=decision.retry_after_s)
    limits = services.config.limits
    lease = services.inflight.lease(key)
    try:
        raw = await read_body(
            request,
            limits.max_body_bytes,
            lease,
            BodyPace(limits.body_idle_timeout_s, limits.body_min_rate_bytes_per_s),
        )
        examination = functools.partial(
            examine,
            raw,
            limits=services.xml_limits,
            policy=services.policy,
            trust=services.trust_files.current(),
            at=now,
            expect_kind=expect_kind,
            signature_required=signature_required,
            tolerances=services.tolerances,
        )
        if len(raw) <= limits.inline_examination_bytes:
            # A small body costs less to examine here than a hop to a worker and back.
            examined = examination()
        else:
            # One agency's bodies wait for its own slots, never for another's.
            async with slots.slot(key):
                examined = await asyncio.get_running_loop().run_in_executor(
                    services.executor, examination
                )
        if examined.package.warnings:  # what [interop] let through, for the operator
            log.info("package.tolerated", warnings=list(examined.package.warnings))
        yield examined
    finally:
        lease.release()
