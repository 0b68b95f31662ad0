"""Federation: the peer axes this axis knows, and routing documents to them.

An agency served by a peer axis is a *remote agency*: a row of the registry with
``peer`` set, delivery by push to the peer's relay resource. It is made when a
document is first routed to it by the peer's patterns, or when a peer's
directory is synced. A relayed document is the sender's exact bytes: the axis
that receives it checks the signature and certificate itself (``core.intake.examine``,
as for any document): see ``service.relay``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlparse

import structlog

from edoc_axis.config import AxisConfig
from edoc_axis.core import federation as rules
from edoc_axis.core.receipt import RECEIPT_NS
from edoc_axis.edxml import classify_agency_code
from edoc_axis.errors import (
    NotFound,
    SchemaInvalid,
)
from edoc_axis.service.context import AxisContext
from edoc_axis.service.registry import hash_token, new_token, parse_certificates, pem_of
from edoc_axis.signature import certificate_fingerprint
from edoc_axis.store import (
    Agency,
    AgencyExists,
    NewAgency,
    NewPeer,
    Peer,
    Store,
    StoredDocument,
)
from edoc_axis.system_secrets import SecretBox, create_key_file

log = structlog.get_logger("edoc_axis.federation")

RELAY_PATH = "/api/v1/relay"
H_PATH = "Edoc-Relay-Path"  # the axes the package crossed before, origin first
H_NOTICE = "Edoc-Relay-Notice"  # "1": the body is an axis's delivery-failure notice


# -- the peer registry -----------------------------------------------------------


def _box(config: AxisConfig) -> SecretBox:
    return SecretBox(create_key_file(config.vdxp_key_file()))


def _seal(config: AxisConfig, name: str, token: str | None) -> bytes | None:
    # The peer's name is the associated data: a sealed token moved to another
    # peer's row (or a VDXP system's) does not open.
    return None if not token else _box(config).seal(f"peer:{name}", token)


def peer_token(config: AxisConfig, peer: Peer) -> str | None:
    """The token this axis presents to ``peer``, unsealed; None if none was set."""
    if peer.sealed_token is None:
        return None
    return _box(config).open(f"peer:{peer.name}", peer.sealed_token)


def _check_url(url: str) -> str:
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise SchemaInvalid(f"a peer axis needs an http(s) base URL, not {url!r}")
    return url.rstrip("/")


def _new_peer(
    config: AxisConfig,
    name: str,
    url: str,
    axis_cert_pem: bytes,
    serves: tuple[str, ...],
    token: str | None,
    *,
    test: bool = False,
) -> NewPeer:
    try:
        rules.check_axis_name(name)
        patterns = tuple(rules.check_pattern(p) for p in serves)
    except ValueError as exc:
        raise SchemaInvalid(str(exc)) from exc
    if not patterns:
        raise SchemaInvalid("say which agencies the peer serves: --serves CODE|GLOB|'*'")
    if name == config.axis_name:
        raise SchemaInvalid(f"{name} is this axis's own name")
    cert = parse_certificates(axis_cert_pem)[0]
    return NewPeer(
        name=name,
        url=_check_url(url),
        axis_cert_pem=pem_of(cert),
        axis_cert_sha256=certificate_fingerprint(cert),
        serves=patterns,
        sealed_token=_seal(config, name, token),
        test=test,
    )


async def add_peer(
    store: Store,
    config: AxisConfig,
    *,
    name: str,
    url: str,
    axis_cert_pem: bytes,
    serves: tuple[str, ...],
    token: str | None = None,
    test: bool = False,
    at: datetime,
) -> tuple[Peer, str]:
    """Register a peer axis; returns it and the token it must present here (shown once).

    ``token`` is the one the peer gave for this axis to present to it; it can
    be set later (``update_peer``), as the two operators exchange tokens.
    """
    peer = _new_peer(config, name, url, axis_cert_pem, serves, token, test=test)
    inbound = new_token()
    stored = await store.create_peer(peer, hash_token(inbound), at)
    return stored, inbound


async def update_peer(
    store: Store,
    config: AxisConfig,
    name: str,
    *,
    url: str | None = None,
    axis_cert_pem: bytes | None = None,
    serves: tuple[str, ...] | None = None,
    token: str | None = None,
    at: datetime,
) -> Peer:
    """Change what is given; keep the rest."""
    current = await require_peer(store, name)
    peer = _new_peer(
        config,
        name,
        url or current.url,
        axis_cert_pem or current.axis_cert_pem,
        serves if serves else current.serves,
        token if token is not None else peer_token(config, current),
        test=current.test,
    )
    return await store.update_peer(peer, at)


async def rotate_peer_token(store: Store, name: str, at: datetime) -> str:
    """A new token for the peer to present here; the old one stops working at once."""
    token = new_token()
    await store.set_peer_token(name, hash_token(token), at)
    return token


async def require_peer(store: Store, name: str) -> Peer:
    peer = await store.get_peer(name)
    if peer is None:
        raise NotFound(f"no peer axis {name!r}")
    return peer


def peer_json(peer: Peer) -> dict[str, Any]:
    """A peer as the operator sees it: never a token, sealed or not."""
    return {
        "name": peer.name,
        "url": peer.url,
        "state": peer.state,
        "serves": list(peer.serves),
        "axis_cert_sha256": peer.axis_cert_sha256,
        "token_to_peer_set": peer.sealed_token is not None,
        "directory_version": peer.directory_version,
        "test": peer.test,
        "created_at": peer.created_at.isoformat(),
    }


# -- routing to peers ----------------------------------------------------------------


async def remote_agency(ctx: AxisContext, code: str, *, via: Peer | None = None) -> Agency | None:
    """The remote agency for a code no local agency has, made on first use.

    None if no active peer serves the code.

    ``via`` names the peer to take when a relayed status or document arrives
    from it for an agency this axis has not met yet.
    """
    peer = via
    if peer is None:
        peers = [p for p in await ctx.store.list_peers() if p.state == "active"]
        chosen = rules.choose_peer(code, ((p.name, p.serves) for p in peers))
        peer = next((p for p in peers if p.name == chosen), None)
    if peer is None:
        return None
    try:
        classify_agency_code(code)
    except SchemaInvalid:
        return None
    new = NewAgency(
        code=code,
        name=code,
        delivery_mode="push",
        endpoint_url=peer.url,
        peer=peer.name,
        test=peer.test,
    )
    try:
        return await ctx.store.create_agency(new, "", (), ctx.clock.now())
    except AgencyExists:  # made meanwhile by another request or node
        return await ctx.store.get_agency(code)


@dataclass(frozen=True)
class RelayTarget:
    """Where and how the push of a delivery to a remote agency goes."""

    url: str
    headers: dict[str, str]
    problem: str | None = None  # why the push cannot be made now (it is retried)


async def relay_target(
    ctx: AxisContext, recipient_code: str, document: StoredDocument | None
) -> RelayTarget | None:
    """The relay resource, token and path for a push to a remote agency; None for a local one.

    A peer whose token this axis does not know yet cannot take a relay: the
    target says why (``problem``), and the push is retried later instead of
    being refused for good by the peer (a 401 would make a dead letter).
    """
    agency = await ctx.store.get_agency(recipient_code)
    if agency is None or agency.peer is None:
        return None
    peer = await require_peer(ctx.store, agency.peer)
    token = peer_token(ctx.config, peer)
    if not token:
        problem = f"no token set for peer axis {peer.name} (edoc-axis peer update --token)"
        return RelayTarget(peer.url + RELAY_PATH, {}, problem)
    path = (document.relay_path if document is not None else ()) + (ctx.config.axis_name,)
    headers = {H_PATH: ",".join(path)}
    if document is not None and document.kind == "status":
        # a status's push copy carries its status id: is it an axis's notice?
        status = await ctx.store.get_status(document.axis_id)
        if status is not None and status.kind == "notice":
            headers[H_NOTICE] = "1"
    headers["Authorization"] = f"Bearer {token}"
    return RelayTarget(peer.url + RELAY_PATH, headers)


def is_receipt(answer: bytes) -> bool:
    """Does a relay's 2xx answer look like an axis receipt (kept for the trace)?"""
    return RECEIPT_NS.encode() in answer[:4096]


async def record_relay_receipt(
    ctx: AxisContext, delivery_id: int, recipient_code: str, answer: bytes
) -> bool:
    """Keep the next axis's receipt of a relayed delivery; True if the recipient is remote."""
    agency = await ctx.store.get_agency(recipient_code)
    if agency is None or agency.peer is None:
        return False
    if is_receipt(answer):
        await ctx.store.record_relay_receipt(delivery_id, answer)
    return True
