"""What peer axes call: POST /api/v1/relay, GET /api/v1/relay/directory and /relay/trace.

A peer authenticates twice: its bearer token (issued by ``edoc-axis peer add``
or ``peer token``) and the axis signature over the push (``core/delivery_auth``)
made with the key of the certificate registered for it. The signature is
checked on the bytes before any XML is parsed, so an impostor costs a hash.
The relay path (``Edoc-Relay-Path``) is checked before the body is read.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from aiohttp import web

from edoc_axis.client import AxisClient, AxisUnreachable
from edoc_axis.core import federation as rules
from edoc_axis.core.delivery_auth import H_KIND, DeliveryFacts, verify_delivery
from edoc_axis.core.receipt import verify_receipt
from edoc_axis.errors import (
    EdocError,
    NotFound,
    PeerDisabled,
    RateLimited,
    RelayInvalid,
    RelayUnknownPeer,
    SignatureInvalid,
    SignatureMissing,
    Unavailable,
)
from edoc_axis.server.admission import admitted
from edoc_axis.server.bodies import BodyLease, BodyPace, read_package_body
from edoc_axis.server.context import SERVICES, AxisServices
from edoc_axis.server.intake import receipt_response
from edoc_axis.service import peers, relay
from edoc_axis.service.trace import document_trace
from edoc_axis.service.views import iso
from edoc_axis.store import Peer, StoredDocument, StoredStatus
from edoc_axis.tls import client_context

log = structlog.get_logger("edoc_axis.relay")

H_SENDER_QUERY, H_DOCUMENT_QUERY = "sender", "document_id"


async def calling_peer(request: web.Request) -> Peer:
    """The active peer axis whose token the request bears; one 401 for every doubt."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    peer = None
    if scheme.lower() == "bearer":
        peer = await relay.authenticate_peer(request.app[SERVICES], token.strip())
    if peer is None:
        raise RelayUnknownPeer("no active peer axis holds this token")
    structlog.contextvars.bind_contextvars(peer=peer.name)
    return peer


BodyReader = Callable[[web.Request, int, BodyLease, BodyPace], Awaitable[bytes]]


def _signed_by(peer: Peer, services: AxisServices, facts: list[DeliveryFacts]) -> BodyReader:
    """Read the body, then check the peer's axis signature over it before any parse."""

    async def read(request: web.Request, limit: int, lease: BodyLease, pace: BodyPace) -> bytes:
        raw = await read_package_body(request, limit, lease, pace)
        try:
            facts.append(
                verify_delivery(
                    request.headers, raw, [relay.peer_certificate(peer)], services.clock.now()
                )
            )
        except (SignatureInvalid, SignatureMissing) as exc:
            raise RelayUnknownPeer(f"the relay is not signed by {peer.name}: {exc.detail}") from exc
        return raw

    return read


async def relay_package(request: web.Request) -> web.Response:
    """A document or a status relayed by a peer axis: the sender's exact bytes."""
    services = request.app[SERVICES]
    peer = await calling_peer(request)
    try:
        path = rules.parse_path(request.headers.get(peers.H_PATH))
        rules.check_path(path, services.config.axis_name, services.config.federation.max_hops)
        kind = request.headers.get(H_KIND)
        if kind not in ("document", "status"):
            raise RelayInvalid("Edoc-Kind must be document or status")
        facts: list[DeliveryFacts] = []
        if kind == "status" and request.headers.get(peers.H_NOTICE) == "1":
            stored, created = await _relayed_notice(request, services, peer, path, facts)
            return _counted(services, peer, created, _status_answer(stored.status_id, created))
        async with admitted(
            request,
            services,
            peer,
            expect_kind=kind,
            signature_required=kind == "document",
            read_body=_signed_by(peer, services, facts),
        ) as examined:
            if kind == "document":
                result = await relay.accept_relayed_document(
                    services, peer, examined, recipient=facts[0].recipient, path=path
                )
                response = receipt_response(result.document, result.created)
                return _counted(services, peer, result.created, response)
            stored, created = await relay.accept_relayed_status(services, peer, examined, path=path)
    except EdocError as error:
        services.metrics.rejected.labels(code=error.code).inc()
        services.metrics.relays.labels(peer=peer.name, outcome=error.code).inc()
        if not isinstance(error, RateLimited | Unavailable):
            await services.store.append_audit(
                "relay.refused",
                services.clock.now(),
                detail={"peer": peer.name, "code": error.code, "detail": error.detail[:500]},
            )
        raise
    return _counted(services, peer, created, _status_answer(stored.status_id, created))


def _counted(
    services: AxisServices, peer: Peer, created: bool, response: web.Response
) -> web.Response:
    outcome = "accepted" if created else "again"
    services.metrics.relays.labels(peer=peer.name, outcome=outcome).inc()
    return response


def _status_answer(status_id: str, created: bool) -> web.Response:
    return web.json_response(
        {"status_id": status_id, "created": created}, status=202 if created else 200
    )


_NOTICE_BYTES = 64 * 1024


async def _relayed_notice(
    request: web.Request,
    services: AxisServices,
    peer: Peer,
    path: tuple[str, ...],
    facts: list[DeliveryFacts],
) -> tuple[StoredStatus, bool]:
    """A delivery-failure notice: small, signed by an axis, not an edXML package."""
    decision = services.peer_limiter.take(f"peer:{peer.name}", services.clock.now().timestamp())
    if not decision.allowed:
        raise RateLimited(
            f"{peer.name} is over its rate limit", retry_after_s=decision.retry_after_s
        )
    lease = services.inflight.lease(f"peer:{peer.name}")
    try:
        limits = services.config.limits
        pace = BodyPace(limits.body_idle_timeout_s, limits.body_min_rate_bytes_per_s)
        raw = await _signed_by(peer, services, facts)(request, _NOTICE_BYTES, lease, pace)
        return await relay.accept_relayed_notice(services, peer, raw, path=path)
    finally:
        lease.release()


async def relay_directory(request: web.Request) -> web.Response:
    """The agencies this axis reaches, for the calling peer to route by.

    ``?since=VERSION``: when nothing changed since, only ``{"version", "unchanged"}``.
    """
    services = request.app[SERVICES]
    peer = await calling_peer(request)
    since = request.query.get("since")
    version = await services.store.registry_version()
    if since is not None and since.isdigit() and int(since) == version:
        return web.json_response(
            {"axis": services.config.axis_name, "version": version, "unchanged": True}
        )
    return web.json_response(await relay.directory(services, peer))


async def relay_trace(request: web.Request) -> web.Response:
    """This axis's part of a relayed document's trace, for the peer that relayed it.

    Only a document that came here by relay, from a sender the calling peer
    serves, is shown; anything else is 404.
    """
    services = request.app[SERVICES]
    peer = await calling_peer(request)
    sender = request.query.get(H_SENDER_QUERY, "")
    document_id = request.query.get(H_DOCUMENT_QUERY, "")
    document = await services.store.find_document(sender, document_id) if sender else None
    if (
        document is None
        or not document.relay_path
        or rules.serves(peer.serves, document.sender_code) is None
    ):
        raise NotFound("no relayed document with this sender and DocumentId")
    body = await document_trace(services.store, document, None)
    body["axis"] = services.config.axis_name
    body["relay_path"] = list(document.relay_path)
    await with_hops(services, body, document)
    return web.json_response(body)


async def with_hops(services: AxisServices, body: dict[str, Any], document: StoredDocument) -> None:
    """Add, to each delivery relayed to a peer, that axis's receipt and its part of the trace.

    The later axes are asked when the trace is read (each asks the next, each
    peer once per trace however many recipients it serves), so a trace shows
    every hop while the axes on the path answer; an axis that does not answer
    in ``[federation] trace_timeout_s`` is shown as such.
    """
    asked: dict[str, dict[str, Any]] = {}  # peer name -> its part of the trace
    for entry in body.get("deliveries", []):
        agency = await services.store.get_agency(entry["agency"])
        if agency is not None and agency.peer is not None:
            entry["relay"] = await _hop(services, agency.peer, entry, document, asked)


async def _hop(
    services: AxisServices,
    peer_name: str,
    entry: dict[str, Any],
    document: StoredDocument,
    asked: dict[str, dict[str, Any]],
) -> dict[str, Any]:
    peer = await services.store.get_peer(peer_name)
    hop: dict[str, Any] = {"peer": peer_name, "receipt": None, "next": None}
    if peer is None:
        hop["next"] = {"error": "the peer axis is no longer registered"}
        return hop
    delivery = await services.store.delivery_for(document.axis_id, entry["agency"])
    if delivery is not None and delivery.relay_receipt:
        hop["receipt"] = _receipt_json(delivery.relay_receipt, peer)
    if hop["receipt"] is None:
        hop["next"] = {"error": "not yet accepted by the peer axis"}
        return hop
    if peer_name not in asked:
        asked[peer_name] = await _ask_peer(services, peer, document)
    part = asked[peer_name]
    if "deliveries" in part:  # only this recipient's delivery there
        mine = [d for d in part["deliveries"] if d.get("agency") == entry["agency"]]
        part = {**part, "deliveries": mine}
    hop["next"] = part
    return hop


async def _ask_peer(services: AxisServices, peer: Peer, document: StoredDocument) -> dict[str, Any]:
    try:
        async with peer_client(services, peer) as client:
            answer = await client.peer_trace(document.sender_code, document.document_id)
    except AxisUnreachable as exc:
        return {"error": f"{peer.name} did not answer: {exc}"}
    if answer.status != 200:
        return {"error": f"{peer.name} answered HTTP {answer.status} {answer.code or ''}"}
    part = answer.json()
    return part if isinstance(part, dict) else {"error": f"{peer.name} answered no trace"}


def peer_client(services: AxisServices, peer: Peer) -> AxisClient:
    """A client of ``peer``'s API with the token this axis presents to it."""
    return AxisClient(
        peer.url,
        peers.peer_token(services.config, peer),
        timeout_s=services.config.federation.trace_timeout_s,
        ssl_context=client_context(services.config.push_ca_file),
    )


def _receipt_json(raw: bytes, peer: Peer) -> dict[str, Any]:
    text = raw.decode("utf-8", errors="replace")
    try:
        receipt = verify_receipt(raw, [relay.peer_certificate(peer)])
    except EdocError as error:
        return {"verified": False, "error": error.code, "xml": text}
    return {
        "verified": True,
        "axis": receipt.axis_name,
        "axis_id": receipt.axis_id,
        "sha256": receipt.sha256,
        "accepted_at": iso(receipt.accepted_at),
        "xml": text,
    }


# -- the directory, fetched from a peer ------------------------------------------


async def sync_peer(services: AxisServices, peer: Peer) -> relay.SyncReport:
    """Fetch ``peer``'s directory (unless its version is the one synced) and apply it.

    A disabled peer is refused: applying its directory would revive its agencies.
    """
    if peer.state != "active":
        raise PeerDisabled(f"peer axis {peer.name} is disabled; enable it first, then sync")
    try:
        async with peer_client(services, peer) as client:
            answer = await client.peer_directory(peer.directory_version)
    except AxisUnreachable as exc:
        raise Unavailable(f"peer axis {peer.name} did not answer: {exc}") from None
    if answer.status != 200:
        raise Unavailable(f"{peer.name} answered its directory with HTTP {answer.status}")
    listing = answer.json()
    if listing.get("unchanged"):
        return relay.SyncReport(int(listing["version"]), (), (), (), (), unchanged=True)
    return await relay.apply_directory(services.store, peer, listing, services.clock.now())


async def sync_periodically(services: AxisServices) -> None:
    """Every ``[federation] sync_interval_s``, each active peer's directory (0: never)."""
    interval = services.config.federation.sync_interval_s
    while interval > 0:
        for peer in await services.store.list_peers():
            if peer.state != "active":
                continue
            try:
                report = await sync_peer(services, peer)
            except (AxisUnreachable, EdocError, ValueError, KeyError) as exc:
                log.warning("peer.sync_failed", peer=peer.name, error=str(exc))
                continue
            if not report.unchanged:
                log.info(
                    "peer.synced",
                    peer=peer.name,
                    version=report.version,
                    added=len(report.added),
                    disabled=len(report.disabled),
                )
        await asyncio.sleep(interval)


def add_routes(app: web.Application) -> None:
    app.router.add_post("/api/v1/relay", relay_package)
    app.router.add_get("/api/v1/relay/directory", relay_directory)
    app.router.add_get("/api/v1/relay/trace", relay_trace)
