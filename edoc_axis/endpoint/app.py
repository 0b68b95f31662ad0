"""The reference push endpoint an agency runs: ``POST /`` takes deliveries from the axis.

Checks, in order: the axis's delivery signature (401 otherwise: an impostor
is refused before its body is even parsed), safe XML parsing (400), the
document's own XML signature and, given trust anchors, its certificate
chain (422). Then the document is stored once under its axis id: 201 when
new, 200 for a re-delivery of the same bytes, 409 for other bytes.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import structlog
from aiohttp import web
from cryptography import x509

from edoc_axis.clock import Clock, SystemClock
from edoc_axis.core.delivery_auth import DeliveryFacts, verify_delivery
from edoc_axis.core.ids import is_conformance_id
from edoc_axis.core.notice import NOTICE_NS
from edoc_axis.edxml import DEFAULT_LIMITS, REAL_WORLD, XmlLimits, package_from_tree
from edoc_axis.edxml.aside import check_aside, parse_setting_aside
from edoc_axis.endpoint.storage import FOLDERS, ReceivedStore, StoredItem
from edoc_axis.errors import EdocError, PayloadTooLarge, SignatureInvalid, SignatureMissing
from edoc_axis.files import is_safe_id
from edoc_axis.problems import problem, problem_response
from edoc_axis.signature import TrustStore, VerificationPolicy, verify_enveloped, verify_package

log = structlog.get_logger("edoc_axis.endpoint")
_PIECE = 1024 * 1024
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Received:
    """A newly stored delivery, handed to ``on_stored`` (e.g. to send status 01 back)."""

    item: StoredItem
    facts: DeliveryFacts
    absolute_path: Path


OnStored = Callable[[Received], Awaitable[None]]


@dataclass(frozen=True)
class EndpointState:
    store: ReceivedStore
    axis_certs: tuple[x509.Certificate, ...]
    trust: TrustStore | None
    policy: VerificationPolicy
    clock: Clock
    limits: XmlLimits
    on_stored: OnStored | None
    lock: asyncio.Lock
    max_body_bytes: int


STATE = web.AppKey("edoc_endpoint_state", EndpointState)


@web.middleware
async def problem_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every refusal as problem+json with its stable code."""
    try:
        return await handler(request)
    except EdocError as error:
        log.warning("endpoint.refused", code=error.code, detail=error.detail)
        return problem_response(error)


def _check_document(body: bytes, state: EndpointState, kind: str) -> str:
    """Parse safely, verify the XML signature (and chain); return the sender's code.

    Documents must be signed. Status messages may travel unsigned (the axis
    records 01 itself), but a signature that is there must verify; the axis's
    own delivery-failure notice must carry the axis's signature.
    """
    # A large attachment's text stays in ``body`` (edxml.aside), as at the axis.
    root, aside = parse_setting_aside(body, state.limits)
    check_aside(root, aside)
    if kind == "status" and root.tag == f"{{{NOTICE_NS}}}DeliveryFailure":
        signed = verify_enveloped(root, state.policy, expected_parent=root)
        if signed.certificate not in state.axis_certs:
            raise SignatureInvalid("a delivery-failure notice not signed by the axis")
        return "axis"
    try:
        verified = verify_package(root, state.policy, document_size=len(body), aside=aside)
    except SignatureMissing:
        if kind != "status":
            raise
    else:
        if state.trust is not None:
            state.trust.check(verified.certificate, state.clock.now(), verified.chain)
    # The sender comes from the document, not from the Edoc-Sender header,
    # which the axis's delivery signature does not cover.
    package = package_from_tree(
        root, body, REAL_WORLD, keep_attachment_text=False, limits=state.limits
    )
    return package.sender.organ_id


async def receive(request: web.Request) -> web.Response:
    """``POST /``: one push delivery from the axis."""
    state = request.app[STATE]
    body = await _read_body(request, state.max_body_bytes)
    try:
        facts = verify_delivery(request.headers, body, state.axis_certs, state.clock.now())
    except (SignatureMissing, SignatureInvalid) as exc:
        log.warning("endpoint.impostor_refused", code=exc.code, detail=exc.detail)
        return problem(401, exc.code, "Delivery not signed by the axis", exc.detail)
    if facts.kind not in FOLDERS or not is_safe_id(facts.axis_id):
        detail = f"unusable delivery kind {facts.kind!r} or id {facts.axis_id!r}"
        return problem(400, "delivery.invalid", "Unusable delivery", detail)
    bound = log.bind(axis_id=facts.axis_id, attempt=facts.attempt)
    sender = await asyncio.to_thread(_check_document, body, state, facts.kind)
    async with state.lock:
        item = await asyncio.to_thread(
            state.store.store, facts.kind, facts.axis_id, sender, body, state.clock.now()
        )
    bound.info("endpoint.duplicate" if item.duplicate else "endpoint.stored", sender=sender)
    # A conformance test delivery is never answered (01) to the real axis.
    if not item.duplicate and state.on_stored is not None and not is_conformance_id(item.axis_id):
        await _notify(state.on_stored, Received(item, facts, state.store.root / item.path))
    answer = {"stored": item.path, "duplicate": item.duplicate}
    return web.json_response(answer, status=200 if item.duplicate else 201)


async def _read_body(request: web.Request, limit: int) -> bytes:
    """The body, held once, refused past ``limit`` bytes.

    aiohttp's ``request.read()`` gathers a body in a bytearray and then copies
    it into bytes: a large push would be held twice for a moment. A BytesIO's
    ``getvalue()`` hands over its own buffer instead.
    """
    if (request.content_length or 0) > limit:
        raise PayloadTooLarge(f"the body is over this endpoint's limit of {limit} bytes")
    buffer = io.BytesIO()
    async for piece in request.content.iter_chunked(_PIECE):
        if buffer.tell() + len(piece) > limit:
            raise PayloadTooLarge(f"the body is over this endpoint's limit of {limit} bytes")
        buffer.write(piece)
    return buffer.getvalue()


async def _notify(on_stored: OnStored, received: Received) -> None:
    # The document is safely stored whatever the hook does, so a failing hook
    # must not turn the answer into an error (the axis would push again).
    try:
        await on_stored(received)
    except Exception:
        log.exception("endpoint.on_stored_failed", axis_id=received.item.axis_id)


async def healthz(_request: web.Request) -> web.Response:
    """``GET /healthz``: the endpoint is up."""
    return web.json_response({"status": "ok"})


def make_endpoint_app(
    out_dir: Path,
    axis_certs: Sequence[x509.Certificate],
    trust: TrustStore | None,
    policy: VerificationPolicy | None = None,
    clock: Clock | None = None,
    *,
    on_stored: OnStored | None = None,
    max_body_bytes: int = 64 * 1024 * 1024,
    limits: XmlLimits = DEFAULT_LIMITS,
) -> web.Application:
    """The endpoint application; ``trust`` None skips the certificate chain check."""
    if not axis_certs:
        raise ValueError("the endpoint needs the axis certificate to tell it from impostors")
    store = ReceivedStore(out_dir)
    store.prepare()
    # The body's limit is enforced by _read_body (state.max_body_bytes), not by aiohttp.
    app = web.Application(middlewares=[problem_middleware])
    app[STATE] = EndpointState(
        store=store,
        axis_certs=tuple(axis_certs),
        trust=trust,
        policy=policy or VerificationPolicy(),
        clock=clock or SystemClock(),
        limits=limits,
        on_stored=on_stored,
        lock=asyncio.Lock(),
        max_body_bytes=max_body_bytes,
    )
    app.router.add_post("/", receive)
    app.router.add_get("/healthz", healthz)
    return app
