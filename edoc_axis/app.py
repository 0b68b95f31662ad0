"""make_app: the one wiring point of the axis, for serve, the demo and every test.

The HTTP adapter (``server``) and push delivery (``delivery``) never import
each other; this module puts them over one store and one set of services. The
dispatcher starts and stops with the application (aiohttp's ``cleanup_ctx``):
it starts before a site listens and stops, draining in-flight pushes, after
the sites have stopped taking requests.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

from aiohttp import web

from edoc_axis import service
from edoc_axis.clock import Clock, SystemClock
from edoc_axis.config import AxisConfig
from edoc_axis.delivery import PushDispatcher
from edoc_axis.server import make_http_app
from edoc_axis.server.context import SERVICES, AxisServices
from edoc_axis.server.relay import sync_periodically
from edoc_axis.service import peers
from edoc_axis.store import (
    Claim,
    DeadLetter,
    Delivered,
    NewDocument,
    NewStatus,
    Outcome,
    Store,
    StoredDocument,
)
from edoc_axis.tls import client_context


@dataclass
class PushDelivery:
    """The app's dispatcher, and how long stopping lets in-flight pushes finish."""

    dispatcher: PushDispatcher
    drain_timeout_s: float = 10.0


PUSH = web.AppKey("push", PushDelivery)


def make_app(
    config: AxisConfig,
    store: Store,
    clock: Clock | None = None,
    *,
    push: bool = True,
    poll_interval_s: float = 0.5,
) -> web.Application:
    """The whole axis over an opened store: the HTTP API and, with ``push``, push delivery."""
    app = make_http_app(config, store, clock or SystemClock())
    if config.federation.sync_interval_s > 0:
        app.cleanup_ctx.append(_syncing_directories)
    if push:
        delivery = PushDelivery(_dispatcher(app[SERVICES], poll_interval_s))
        app[PUSH] = delivery
        app.cleanup_ctx.append(_delivering)
    return app


def _dispatcher(services: AxisServices, poll_interval_s: float) -> PushDispatcher:
    metrics = services.metrics

    def on_attempt(label: str, seconds: float) -> None:
        metrics.deliveries.labels(outcome=label).inc()
        metrics.attempt_seconds.observe(seconds)

    async def arrival(
        claim: Claim, document: StoredDocument
    ) -> tuple[NewStatus, NewDocument | None] | None:
        """The 01 a push to an agency's endpoint makes, written with its outcome."""
        agency = await services.store.get_agency(claim.recipient_code)
        if agency is not None and agency.peer is not None:
            return None  # a relay reached the next axis; the agency's 01 comes back from it
        how = "delivered to the agency's endpoint"
        return await service.arrival_writes(services, document, claim.recipient_code, how)

    async def on_recorded(claim: Claim, outcome: Outcome) -> None:
        if isinstance(outcome, Delivered):
            # A relay reached the next axis, not the agency: keep that axis's receipt.
            await peers.record_relay_receipt(
                services, claim.delivery_id, claim.recipient_code, outcome.answer
            )
        elif isinstance(outcome, DeadLetter):
            await service.tell_sender(services, claim, outcome.error)

    async def relay_target(
        recipient: str, document: StoredDocument | None
    ) -> tuple[str, dict[str, str]] | str | None:
        target = await peers.relay_target(services, recipient, document)
        if target is None:
            return None
        return target.problem or (target.url, target.headers)

    dispatcher = PushDispatcher(
        services.store,
        services.clock,
        axis_key=services.axis_key,
        axis_cert=services.axis_cert,
        settings=services.config.retry,
        on_attempt=on_attempt,
        on_recorded=on_recorded,
        poll_interval_s=poll_interval_s,
        ssl_context=client_context(services.config.push_ca_file),
        relay_target=relay_target,
        arrival=arrival,
        breaker_threshold=services.config.retry.breaker_threshold,
        breaker_cool_off_s=services.config.retry.breaker_cool_off_s,
    )
    services.on_accepted.append(dispatcher.wake)
    services.endpoint_health.append(dispatcher.endpoint_health)
    # Work accepted by other nodes on a shared database wakes this one too.
    services.store.on_work(dispatcher.wake)
    return dispatcher


async def _delivering(app: web.Application) -> AsyncIterator[None]:
    delivery = app[PUSH]
    await delivery.dispatcher.start()
    yield
    await delivery.dispatcher.stop(delivery.drain_timeout_s)


async def _syncing_directories(app: web.Application) -> AsyncIterator[None]:
    """Peers' directories fetched in the background (``[federation] sync_interval_s``)."""
    task = asyncio.create_task(sync_periodically(app[SERVICES]), name="edoc-peer-sync")
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
