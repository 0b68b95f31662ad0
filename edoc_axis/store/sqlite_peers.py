"""Peer axes (federation) on SQLite: reads and write jobs with their SQL."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from datetime import datetime

from edoc_axis.errors import NotFound
from edoc_axis.store.base import PeerExists
from edoc_axis.store.codec import from_db, to_db
from edoc_axis.store.records import NewPeer, Peer, PeerState
from edoc_axis.store.sqlite_writer import WriteContext

_SELECT_PEER = "SELECT * FROM peers WHERE name = :name"
_SELECT_PEERS = "SELECT * FROM peers ORDER BY name"
_PEER_BY_HASH = "SELECT * FROM peers WHERE token_hash = :token_hash AND state = 'active'"
_INSERT_PEER = """
INSERT INTO peers (name, url, axis_cert_pem, axis_cert_sha256, serves, token_hash, sealed_token,
    state, created_at, test)
VALUES (:name, :url, :pem, :sha, :serves, :token_hash, :sealed, 'active', :at, :test)"""
_UPDATE_PEER = """
UPDATE peers SET url = :url, axis_cert_pem = :pem, axis_cert_sha256 = :sha, serves = :serves,
    sealed_token = :sealed
WHERE name = :name"""
# The remote agencies' pushes follow the peer's address (their breaker key too).
_UPDATE_PEER_AGENCIES = "UPDATE agencies SET endpoint_url = :url WHERE peer = :name"
_SET_HASH_OF_PEER = "UPDATE peers SET token_hash = :token_hash WHERE name = :name"
# Enabling forgets the directory version, so the next sync applies the whole
# directory again (and disables what left it while the peer was off).
_UPDATE_STATE = """
UPDATE peers SET state = :state,
    directory_version = CASE WHEN :state = 'active' THEN NULL ELSE directory_version END
WHERE name = :name"""
_UPDATE_PEER_AGENCY_STATE = "UPDATE agencies SET state = :state WHERE peer = :name"
_UPDATE_DIRECTORY = "UPDATE peers SET directory_version = :version WHERE name = :name"
_INSERT_RECIPIENT = """
INSERT OR IGNORE INTO deliveries (document_seq, recipient_code, mode, state, attempts,
    next_attempt_at, created_at)
SELECT d.seq, a.code, a.delivery_mode, 'pending', 0, :at, :at
FROM documents d, agencies a WHERE d.axis_id = :axis_id AND a.code = :code"""
_RELAY_RECEIPT = "UPDATE deliveries SET relay_receipt = :receipt WHERE id = :id"


def peer_record(row: sqlite3.Row) -> Peer:
    return Peer(
        name=row["name"],
        url=row["url"],
        axis_cert_pem=bytes(row["axis_cert_pem"]),
        axis_cert_sha256=row["axis_cert_sha256"],
        serves=tuple(json.loads(row["serves"])),
        sealed_token=None if row["sealed_token"] is None else bytes(row["sealed_token"]),
        state=row["state"],
        created_at=from_db(row["created_at"]),
        directory_version=row["directory_version"],
        test=bool(row["test"]),
    )


def get_peer(conn: sqlite3.Connection, name: str) -> Peer | None:
    row = conn.execute(_SELECT_PEER, {"name": name}).fetchone()
    return None if row is None else peer_record(row)


def list_peers(conn: sqlite3.Connection) -> list[Peer]:
    return [peer_record(row) for row in conn.execute(_SELECT_PEERS).fetchall()]


def peer_for_token(conn: sqlite3.Connection, token_hash: str) -> Peer | None:
    row = conn.execute(_PEER_BY_HASH, {"token_hash": token_hash}).fetchone()
    return None if row is None else peer_record(row)


def _require(conn: sqlite3.Connection, name: str) -> Peer:
    peer = get_peer(conn, name)
    if peer is None:
        raise NotFound(f"no peer axis {name!r}")
    return peer


def create_peer(ctx: WriteContext, peer: NewPeer, token_hash: str, at: datetime) -> Peer:
    params = {
        "name": peer.name,
        "url": peer.url,
        "pem": peer.axis_cert_pem,
        "sha": peer.axis_cert_sha256,
        "serves": json.dumps(list(peer.serves)),
        "token_hash": token_hash,
        "sealed": peer.sealed_token,
        "at": to_db(at),
        "test": int(peer.test),
    }
    try:
        ctx.conn.execute(_INSERT_PEER, params)
    except sqlite3.IntegrityError as exc:
        raise PeerExists(f"peer axis {peer.name!r} is already registered") from exc
    detail = {"peer": peer.name, "url": peer.url, "serves": list(peer.serves), "test": peer.test}
    ctx.audit("peer.created", at, detail=detail)
    return _require(ctx.conn, peer.name)


def update_peer(ctx: WriteContext, peer: NewPeer, at: datetime) -> Peer:
    _require(ctx.conn, peer.name)
    params = {
        "name": peer.name,
        "url": peer.url,
        "pem": peer.axis_cert_pem,
        "sha": peer.axis_cert_sha256,
        "serves": json.dumps(list(peer.serves)),
        "sealed": peer.sealed_token,
    }
    ctx.conn.execute(_UPDATE_PEER, params)
    ctx.conn.execute(_UPDATE_PEER_AGENCIES, {"name": peer.name, "url": peer.url})
    detail = {"peer": peer.name, "url": peer.url, "serves": list(peer.serves)}
    ctx.audit("peer.updated", at, detail=detail)
    return _require(ctx.conn, peer.name)


def set_peer_token(ctx: WriteContext, name: str, token_hash: str, at: datetime) -> None:
    _require(ctx.conn, name)
    try:
        ctx.conn.execute(_SET_HASH_OF_PEER, {"name": name, "token_hash": token_hash})
    except sqlite3.IntegrityError as exc:
        raise ValueError("this token hash was used before; issue a fresh token") from exc
    ctx.audit("peer.token_rotated", at, detail={"peer": name})


def set_peer_state(ctx: WriteContext, name: str, state: PeerState, at: datetime) -> Peer:
    if state not in ("active", "disabled"):
        raise ValueError(f"peer state must be active or disabled, not {state!r}")
    _require(ctx.conn, name)
    ctx.conn.execute(_UPDATE_STATE, {"name": name, "state": state})
    ctx.conn.execute(_UPDATE_PEER_AGENCY_STATE, {"name": name, "state": state})
    ctx.audit("peer.state_changed", at, detail={"peer": name, "state": state})
    return _require(ctx.conn, name)


def set_directory_version(ctx: WriteContext, name: str, version: int) -> None:
    ctx.conn.execute(_UPDATE_DIRECTORY, {"name": name, "version": version})


def add_recipients(
    ctx: WriteContext, axis_id: str, codes: Sequence[str], at: datetime
) -> tuple[str, ...]:
    """Deliveries for recipients a stored document does not have yet; the ones added."""
    added = []
    for code in codes:
        params = {"axis_id": axis_id, "code": code, "at": to_db(at)}
        if ctx.conn.execute(_INSERT_RECIPIENT, params).rowcount:
            added.append(code)
    if added:
        ctx.audit("document.recipients_added", at, axis_id=axis_id, detail={"recipients": added})
    return tuple(added)


def record_relay_receipt(ctx: WriteContext, delivery_id: int, receipt: bytes) -> None:
    ctx.conn.execute(_RELAY_RECEIPT, {"id": delivery_id, "receipt": receipt})
