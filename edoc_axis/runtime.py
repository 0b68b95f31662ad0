"""The whole axis in one process: the HTTP app and the push dispatcher over one store.

`edoc-axis serve`, the demo and the end-to-end tests all run the axis through
this class, so they run the same wiring.
"""

from __future__ import annotations

import structlog
from aiohttp import web

from edoc_axis.arrival import record_arrival
from edoc_axis.clock import Clock, SystemClock
from edoc_axis.config import AxisConfig
from edoc_axis.delivery import PushDispatcher
from edoc_axis.server import make_app
from edoc_axis.server.context import SERVICES, AxisServices
from edoc_axis.store import Claim, Delivered, Outcome, Store

log = structlog.get_logger("edoc_axis.runtime")


class AxisRuntime:
    """Start and stop an axis: ``url`` is known once ``start`` returns."""

    def __init__(
        self,
        config: AxisConfig,
        store: Store,
        clock: Clock | None = None,
        *,
        push: bool = True,
        poll_interval_s: float = 0.5,
    ) -> None:
        self.config = config
        self.store = store
        self.clock = clock or SystemClock()
        self.app = make_app(config, store, self.clock)
        self.services: AxisServices = self.app[SERVICES]
        self.dispatcher: PushDispatcher | None = None
        if push:
            metrics = self.services.metrics

            def on_attempt(label: str, seconds: float) -> None:
                metrics.deliveries.labels(outcome=label).inc()
                metrics.attempt_seconds.observe(seconds)

            async def on_recorded(claim: Claim, outcome: Outcome) -> None:
                if isinstance(outcome, Delivered):
                    await record_arrival(
                        store,
                        self.clock,
                        claim.axis_id,
                        claim.recipient_code,
                        "delivered to the agency's endpoint",
                    )

            self.dispatcher = PushDispatcher(
                store,
                self.clock,
                axis_key=self.services.axis_key,
                axis_cert=self.services.axis_cert,
                settings=config.retry,
                on_attempt=on_attempt,
                on_recorded=on_recorded,
                poll_interval_s=poll_interval_s,
            )
            self.services.on_accepted.append(self.dispatcher.wake)
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def start(self, host: str | None = None, port: int | None = None) -> str:
        """Listen (port 0 picks a free one) and start delivering; returns the base URL."""
        self._runner = web.AppRunner(self.app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(
            self._runner, host or self.config.host, self.config.port if port is None else port
        )
        await site.start()
        bound = self._runner.addresses[0]
        self.url = f"http://{bound[0]}:{bound[1]}"
        if self.dispatcher is not None:
            await self.dispatcher.start()
        log.info("server.listening", url=self.url)
        return self.url

    async def stop(self, drain_timeout_s: float = 10.0) -> None:
        """Stop taking requests, then finish or safely re-queue in-flight pushes."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self.dispatcher is not None:
            await self.dispatcher.stop(drain_timeout_s)
        log.info("server.stopped")
