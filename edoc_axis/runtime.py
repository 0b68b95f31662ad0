"""The axis as a process concern: listen on a socket (TLS or not) and stop cleanly.

Everything else, push delivery included, is wired by ``edoc_axis.app.make_app``;
`edoc-axis serve`, the demo and the end-to-end tests all run the axis through
this class, so they run the same wiring.
"""

from __future__ import annotations

import socket
import ssl

import structlog
from aiohttp import web

from edoc_axis.app import PUSH, make_app
from edoc_axis.clock import Clock, SystemClock
from edoc_axis.config import AxisConfig
from edoc_axis.server.connections import CONNECTIONS, LINGER_S, GuardedSite
from edoc_axis.server.context import SERVICES, AxisServices
from edoc_axis.store import Store
from edoc_axis.tls import server_context

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
        self.app = make_app(config, store, self.clock, push=push, poll_interval_s=poll_interval_s)
        self.services: AxisServices = self.app[SERVICES]
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def start(
        self, host: str | None = None, port: int | None = None, *, sock: socket.socket | None = None
    ) -> str:
        """Listen (port 0 picks a free one; or accept on ``sock``); the app starts delivering.

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
        if PUSH in self.app:
            self.app[PUSH].drain_timeout_s = drain_timeout_s
        if self._runner is not None:
            await self._runner.cleanup()  # the sites first, then the app's push delivery
            self._runner = None
        log.info("server.stopped")
