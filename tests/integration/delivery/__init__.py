"""Push delivery tests: a real SqliteStore, real signed documents, real endpoints on port 0.

Helpers shared by the test modules (there is no conftest in this folder):
``open_axis`` gives the axis side (store + registered sender), ``running_endpoint``
a reference endpoint (optionally behind a fault middleware), ``make_dispatcher``
a PushDispatcher with test-sized retry settings.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

from edoc_axis.clock import SystemClock
from edoc_axis.config import RetrySettings
from edoc_axis.core.compose import new_document
from edoc_axis.core.ids import new_axis_id
from edoc_axis.delivery import PushDispatcher
from edoc_axis.edxml import Attachment, build_document
from edoc_axis.endpoint import ReceivedStore, make_endpoint_app
from edoc_axis.pki import Issued, cert_to_pem
from edoc_axis.signature import TrustStore, certificate_fingerprint, sign_package
from edoc_axis.store import Delivery, NewAgency, NewDocument, SqliteStore

SENDER = "000.00.00.G22"  # the code in the conftest's agency_g22 certificate
FAST = RetrySettings(
    base_s=0.01,
    cap_s=0.05,
    max_attempts=40,
    max_age_s=3600.0,
    connect_timeout_s=2.0,
    read_timeout_s=5.0,
    per_endpoint_concurrency=2,
    workers=4,
    lease_s=30.0,
)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Fault = Callable[[web.Request, Handler], Awaitable[web.StreamResponse]]

_numbers = itertools.count(1)


def signed_document(
    sender: Issued, recipient: str, *, subject: str = "Kiểm thử", attachment: bytes = b""
) -> bytes:
    """A new signed document package with a document id no other test uses."""
    number = next(_numbers)
    package = new_document(
        sender=SENDER,
        recipients=[recipient],
        subject=f"{subject} {number}",
        at=datetime(2026, 1, 2, 8, 0),
        code_number=str(number),
        attachments=[Attachment.from_bytes("cid:1", "a.bin", attachment)] if attachment else (),
    )
    return sign_package(build_document(package), sender.key, sender.cert)


@dataclass
class Axis:
    """The axis side: a real store with the sender registered."""

    store: SqliteStore
    sender: Issued

    async def add_recipient(self, code: str, url: str | None, mode: str = "push") -> None:
        agency = NewAgency(code, f"Agency {code}", (), mode, url)  # type: ignore[arg-type]
        await self.store.create_agency(agency, f"hash-{code}", [], datetime.now(UTC))

    async def post(self, recipient: str, count: int = 1, *, attachment: bytes = b"") -> list[str]:
        """Accept ``count`` signed documents for ``recipient``; their axis ids."""
        ids = []
        for _ in range(count):
            raw = signed_document(self.sender, recipient, attachment=attachment)
            now = datetime.now(UTC)
            number = next(_numbers)
            document = NewDocument(
                axis_id=new_axis_id(now),
                sender_code=SENDER,
                document_id=f"{SENDER},doc-{number}",
                kind="document",
                business_type=0,
                references_document_id=None,
                subject=f"document {number}",
                sha256=hashlib.sha256(raw).hexdigest(),
                raw=raw,
                received_at=now,
                receipt=b"<r/>",
                recipients=(recipient,),
            )
            ids.append((await self.store.accept_document(document)).document.axis_id)
        return ids

    async def delivery(self, axis_id: str, recipient: str) -> Delivery:
        found = await self.store.delivery_for(axis_id, recipient)
        assert found is not None
        return found

    async def states(self, axis_ids: list[str], recipient: str) -> list[str]:
        return [(await self.delivery(i, recipient)).state for i in axis_ids]


@asynccontextmanager
async def open_axis(tmp_path: Path, sender: Issued) -> AsyncIterator[Axis]:
    store = SqliteStore(tmp_path / "axis.sqlite")
    await store.open()
    try:
        cert = sender.cert
        agency = NewAgency(SENDER, "Văn phòng Chính phủ")
        fingerprint = certificate_fingerprint(cert)
        await store.create_agency(
            agency, "hash-sender", [(fingerprint, cert_to_pem(cert))], datetime.now(UTC)
        )
        yield Axis(store, sender)
    finally:
        await store.close()


@dataclass
class Endpoint:
    """A reference endpoint on 127.0.0.1:<free port>, with request counts."""

    server: TestServer
    out_dir: Path
    requests: int = 0
    in_flight: int = 0
    max_in_flight: int = 0
    answered: list[int] = field(default_factory=list)

    @property
    def url(self) -> str:
        return str(self.server.make_url("/"))

    def journal_ids(self) -> list[str]:
        return [entry["axis_id"] for entry in ReceivedStore(self.out_dir).journal_entries()]

    def stored_files(self) -> list[str]:
        return sorted(p.name for p in (self.out_dir / "documents").iterdir())


@asynccontextmanager
async def running_endpoint(
    out_dir: Path,
    axis: Issued,
    trust: TrustStore | None,
    *,
    fault: Fault | None = None,
    port: int | None = None,
) -> AsyncIterator[Endpoint]:
    """Serve the reference endpoint; ``fault`` runs in front of it (outermost)."""
    app = make_endpoint_app(out_dir, [axis.cert], trust)
    endpoint: Endpoint

    @web.middleware
    async def counting(request: web.Request, handler: Handler) -> web.StreamResponse:
        endpoint.requests += 1
        endpoint.in_flight += 1
        endpoint.max_in_flight = max(endpoint.max_in_flight, endpoint.in_flight)
        try:
            response = await (fault(request, handler) if fault else handler(request))
        finally:
            endpoint.in_flight -= 1
        endpoint.answered.append(response.status)
        return response

    app.middlewares.insert(0, counting)
    server = TestServer(app, host="127.0.0.1", port=port)
    endpoint = Endpoint(server, out_dir)
    await server.start_server()
    try:
        yield endpoint
    finally:
        await server.close()


def drop_connection(request: web.Request) -> web.Response:
    """Close the socket without an answer; the client sees a disconnect."""
    assert request.transport is not None
    request.transport.close()
    return web.Response(status=599)  # never written: the transport is gone


def make_dispatcher(
    axis: Axis, signer: Issued, settings: RetrySettings = FAST, **kwargs: Any
) -> PushDispatcher:
    kwargs.setdefault("poll_interval_s", 0.05)
    kwargs.setdefault("breaker_cool_off_s", 0.05)  # test-sized, like FAST.base_s
    return PushDispatcher(
        axis.store,
        SystemClock(),
        axis_key=signer.key,
        axis_cert=signer.cert,
        settings=settings,
        **kwargs,
    )


def later(seconds: float) -> datetime:
    return datetime.now(UTC) + timedelta(seconds=seconds)
