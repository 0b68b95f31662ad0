"""What the use cases need of the running axis, and how they wake push delivery."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes

from edoc_axis.clock import Clock
from edoc_axis.config import AxisConfig
from edoc_axis.store import Store


class AxisContext(Protocol):
    """The store, the clock, the axis's signer and the config (``server.context.AxisServices``)."""

    @property
    def config(self) -> AxisConfig: ...
    @property
    def store(self) -> Store: ...
    @property
    def clock(self) -> Clock: ...
    @property
    def axis_key(self) -> CertificateIssuerPrivateKeyTypes: ...
    @property
    def axis_cert(self) -> x509.Certificate: ...
    @property
    def on_accepted(self) -> list[Callable[[], None]]: ...


def wake(ctx: AxisContext) -> None:
    """New push work was stored: wake whatever delivers it (the wiring hooks it here)."""
    for hook in ctx.on_accepted:
        hook()
