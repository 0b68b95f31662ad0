"""Reference endpoint tests: real aiohttp servers on port 0, real signatures.

``signed_delivery`` makes the headers the axis would send; ``serve_endpoint``
runs ``make_endpoint_app`` behind a TestClient.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from edoc_axis.core.delivery_auth import DeliveryFacts, delivery_headers
from edoc_axis.endpoint import make_endpoint_app
from edoc_axis.pki import Issued
from edoc_axis.signature import TrustStore

G22, H49 = "000.00.00.G22", "000.00.00.H49"
AXIS_ID = "01jh2k3m4n5p6q7r8s9t0vwxyz"


def signed_delivery(
    body: bytes,
    signer: Issued,
    *,
    axis_id: str = AXIS_ID,
    kind: str = "document",
    attempt: int = 1,
    timestamp: int | None = None,
) -> dict[str, str]:
    """The headers of a push as ``signer`` would sign it."""
    facts = DeliveryFacts(
        kind=kind,
        axis_id=axis_id,
        sender=G22,
        recipient=H49,
        attempt=attempt,
        timestamp=int(time.time()) if timestamp is None else timestamp,
    )
    headers = delivery_headers(facts, body, signer.key, signer.cert)
    headers["Content-Type"] = "application/xml"
    return headers


@asynccontextmanager
async def serve_endpoint(
    out_dir: Path, axis: Issued, trust: TrustStore | None, **kwargs: Any
) -> AsyncIterator[TestClient[Any, Any]]:
    app = make_endpoint_app(out_dir, [axis.cert], trust, **kwargs)
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        yield client
