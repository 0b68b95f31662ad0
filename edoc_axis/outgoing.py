"""How the axis's own HTTP clients pool their connections: `edoc`, push delivery and
relays to peer axes, and the bench's load generator.

A server closes a keep-alive connection once it has been idle for its limit. A
client that reuses a pooled connection at that very moment loses the request
("Server disconnected", or a reset), and a POST is not retried. The client is
safe only if it stops reusing a connection clearly before the server closes
it: aiohttp's default reuse window (15 s) equals the idle limit of axes made
before this was understood (``keepalive_timeout_s = 15.0``), which let one
request in many thousands fail under load (seen twice in `edoc-axis bench`).
So our clients reuse an idle connection for at most ``REUSE_IDLE_S``, and the
axis now keeps idle connections for 75 s (config.py), longer than the usual
clients' windows.
"""

from __future__ import annotations

from typing import Any

import aiohttp

REUSE_IDLE_S = 10.0


def connector(**options: Any) -> aiohttp.TCPConnector:
    """A connection pool that never reuses a connection idle for ``REUSE_IDLE_S`` or more."""
    return aiohttp.TCPConnector(keepalive_timeout=REUSE_IDLE_S, **options)
