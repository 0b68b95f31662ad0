"""The whole axis in one process: the HTTP app and the push dispatcher over one store.

`edoc-axis serve`, the demo and the end-to-end tests all run the axis through
this class, so they run the same wiring.
"""

from __future__ import annotations

import hashlib
import socket
import ssl

import structlog
from aiohttp import web

from edoc_axis.arrival import record_arrival
from edoc_axis.clock import Clock, SystemClock
from edoc_axis.config import AxisConfig
from edoc_axis.core.notice import DeliveryFailure, sign_delivery_failure
from edoc_axis.delivery import PushDispatcher
from edoc_axis.forwarding import push_copy
from edoc_axis.server import make_app
from edoc_axis.server.connections import CONNECTIONS, LINGER_S, GuardedSite
from edoc_axis.server.context import SERVICES, AxisServices
from edoc_axis.store import Claim, DeadLetter, Delivered, NewStatus, Outcome, Store
from edoc_axis.tls import client_context, server_context

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
                elif isinstance(outcome, DeadLetter):
                    await self._tell_sender(claim, outcome.error)

            self.dispatcher = PushDispatcher(
                store,
                self.clock,
                axis_key=self.services.axis_key,
                axis_cert=self.services.axis_cert,
                settings=config.retry,
                on_attempt=on_attempt,
                on_recorded=on_recorded,
                poll_interval_s=poll_interval_s,
                ssl_context=client_context(config.push_ca_file),
            )
            self.services.on_accepted.append(self.dispatcher.wake)
            # Work accepted by other nodes on a shared database wakes this one too.
            store.on_work(self.dispatcher.wake)
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def _tell_sender(self, claim: Claim, reason: str) -> None:
        """Put a signed delivery-failure notice in the sender's status feed."""
        document = await self.store.get_document(claim.axis_id)
        if document is None or document.kind != "document":
            return  # a status that could not be pushed stays in the addressee's feed
        now = self.clock.now()
        raw = sign_delivery_failure(
            DeliveryFailure(
                axis_name=self.config.axis_name,
                axis_id=claim.axis_id,
                document_id=document.document_id,
                sender=document.sender_code,
                recipient=claim.recipient_code,
                attempts=claim.attempt,
                reason=reason,
                at=now,
            ),
            self.services.axis_key,
            self.services.axis_cert,
        )
        notice = NewStatus(
            status_id=f"nt{claim.delivery_id}a{claim.attempt}",
            axis_id=claim.axis_id,
            from_code=claim.recipient_code,
            to_code=document.sender_code,
            status_code=None,
            raw=raw,
            sha256=hashlib.sha256(raw).hexdigest(),
            timestamp=now,
            received_at=now,
            kind="notice",
        )
        forward = await push_copy(self.store, notice, document)
        await self.store.record_status(notice, None, updates_progress=False, forward=forward)
        log.warning("delivery.sender_told", axis_id=claim.axis_id, recipient=claim.recipient_code)

    async def start(
        self, host: str | None = None, port: int | None = None, *, sock: socket.socket | None = None
    ) -> str:
        """Listen (port 0 picks a free one; or accept on ``sock``) and start delivering.

        Returns the base URL.
        """
        self._runner = web.AppRunner(
            self.app, access_log=None, handle_signals=False, lingering_time=LINGER_S
        )
        await self._runner.setup()
        # TLS or not, every connection goes through the guard (limits, head timeout).
        guard = self.app[CONNECTIONS]
        tls = self._server_tls()
        if sock is not None:
            site = GuardedSite(self._runner, guard, sock=sock, ssl_context=tls)
        else:
            site = GuardedSite(
                self._runner,
                guard,
                host=host or self.config.host,
                port=self.config.port if port is None else port,
                ssl_context=tls,
            )
        try:
            await site.start()
        except OSError:  # the address is taken or not ours: nothing was started
            await self._runner.cleanup()
            self._runner = None
            raise
        bound = self._runner.addresses[0]
        self.url = f"{self.config.scheme}://{bound[0]}:{bound[1]}"
        if self.dispatcher is not None:
            await self.dispatcher.start()
        log.info("server.listening", url=self.url)
        return self.url

    def _server_tls(self) -> ssl.SSLContext | None:
        config = self.config
        if config.tls_cert is None or config.tls_key is None:
            return None
        return server_context(config.tls_cert, config.tls_key, config.tls_client_ca)

    async def stop(self, drain_timeout_s: float = 10.0) -> None:
        """Stop taking requests, then finish or safely re-queue in-flight pushes."""
        if not self.url:
            return  # never listened (start failed): nothing to stop, nothing to announce
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self.dispatcher is not None:
            await self.dispatcher.stop(drain_timeout_s)
        log.info("server.stopped")
