"""Peer axes (federation) on PostgreSQL: the twin of sqlite_peers.py."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

import asyncpg

from edoc_axis.errors import NotFound
from edoc_axis.store.base import PeerExists
from edoc_axis.store.pg_writer import PgWrite
from edoc_axis.store.records import NewPeer, Peer, PeerState

_SELECT_PEER = "SELECT * FROM peers WHERE name = $1"
_SELECT_PEERS = "SELECT * FROM peers ORDER BY name"
_PEER_BY_HASH = "SELECT * FROM peers WHERE token_hash = $1 AND state = 'active'"
_INSERT_PEER = """
INSERT INTO peers (name, url, axis_cert_pem, axis_cert_sha256, serves, token_hash, sealed_token,
    state, created_at, test)
VALUES ($1, $2, $3, $4, $5, $6, $7, 'active', $8, $9)
ON CONFLICT (name) DO NOTHING RETURNING name"""
_UPDATE_PEER = """
UPDATE peers SET url = $2, axis_cert_pem = $3, axis_cert_sha256 = $4, serves = $5,
    sealed_token = $6
WHERE name = $1 RETURNING name"""
_UPDATE_PEER_AGENCIES = "UPDATE agencies SET endpoint_url = $2 WHERE peer = $1"
_SET_HASH_OF_PEER = "UPDATE peers SET token_hash = $2 WHERE name = $1 RETURNING name"
# Enabling forgets the directory version, so the next sync applies the whole
# directory again (and disables what left it while the peer was off).
_UPDATE_STATE = """
UPDATE peers SET state = $2,
    directory_version = CASE WHEN $2 = 'active' THEN NULL ELSE directory_version END
WHERE name = $1 RETURNING name"""
_UPDATE_PEER_AGENCY_STATE = "UPDATE agencies SET state = $2 WHERE peer = $1"
_UPDATE_DIRECTORY = "UPDATE peers SET directory_version = $2 WHERE name = $1"
_INSERT_RECIPIENT = """
INSERT INTO deliveries (document_seq, recipient_code, mode, state, attempts,
    next_attempt_at, created_at)
SELECT d.seq, a.code, a.delivery_mode, 'pending', 0, $3, $3
FROM documents d, agencies a WHERE d.axis_id = $1 AND a.code = $2
ON CONFLICT (document_seq, recipient_code) DO NOTHING RETURNING mode"""
_RELAY_RECEIPT = "UPDATE deliveries SET relay_receipt = $2 WHERE id = $1"


def peer_record(row: asyncpg.Record) -> Peer:
    return Peer(
        name=row["name"],
        url=row["url"],
        axis_cert_pem=bytes(row["axis_cert_pem"]),
        axis_cert_sha256=row["axis_cert_sha256"],
        serves=tuple(json.loads(row["serves"])),
        sealed_token=None if row["sealed_token"] is None else bytes(row["sealed_token"]),
        state=row["state"],
        created_at=row["created_at"],
        directory_version=row["directory_version"],
        test=bool(row["test"]),
    )


async def get_peer(conn: asyncpg.Connection, name: str) -> Peer | None:
    row = await conn.fetchrow(_SELECT_PEER, name)
    return None if row is None else peer_record(row)


async def list_peers(conn: asyncpg.Connection) -> list[Peer]:
    return [peer_record(row) for row in await conn.fetch(_SELECT_PEERS)]


async def peer_for_token(conn: asyncpg.Connection, token_hash: str) -> Peer | None:
    row = await conn.fetchrow(_PEER_BY_HASH, token_hash)
    return None if row is None else peer_record(row)


async def _require(conn: asyncpg.Connection, name: str) -> Peer:
    peer = await get_peer(conn, name)
    if peer is None:
        raise NotFound(f"no peer axis {name!r}")
    return peer


async def create_peer(w: PgWrite, peer: NewPeer, token_hash: str, at: datetime) -> Peer:
    serves = json.dumps(list(peer.serves))
    try:
        name = await w.conn.fetchval(
            _INSERT_PEER,
            peer.name,
            peer.url,
            peer.axis_cert_pem,
            peer.axis_cert_sha256,
            serves,
            token_hash,
            peer.sealed_token,
            at,
            peer.test,
        )
    except asyncpg.UniqueViolationError as exc:  # the token hash
        raise ValueError("this token hash was used before; issue a fresh token") from exc
    if name is None:
        raise PeerExists(f"peer axis {peer.name!r} is already registered")
    detail = {"peer": peer.name, "url": peer.url, "serves": list(peer.serves), "test": peer.test}
    w.audit("peer.created", at, detail=detail)
    return await _require(w.conn, peer.name)


async def update_peer(w: PgWrite, peer: NewPeer, at: datetime) -> Peer:
    serves = json.dumps(list(peer.serves))
    updated = await w.conn.fetchval(
        _UPDATE_PEER,
        peer.name,
        peer.url,
        peer.axis_cert_pem,
        peer.axis_cert_sha256,
        serves,
        peer.sealed_token,
    )
    if updated is None:
        raise NotFound(f"no peer axis {peer.name!r}")
    await w.conn.execute(_UPDATE_PEER_AGENCIES, peer.name, peer.url)
    detail = {"peer": peer.name, "url": peer.url, "serves": list(peer.serves)}
    w.audit("peer.updated", at, detail=detail)
    return await _require(w.conn, peer.name)


async def set_peer_token(w: PgWrite, name: str, token_hash: str, at: datetime) -> None:
    try:
        updated = await w.conn.fetchval(_SET_HASH_OF_PEER, name, token_hash)
    except asyncpg.UniqueViolationError as exc:
        raise ValueError("this token hash was used before; issue a fresh token") from exc
    if updated is None:
        raise NotFound(f"no peer axis {name!r}")
    w.audit("peer.token_rotated", at, detail={"peer": name})


async def set_peer_state(w: PgWrite, name: str, state: PeerState, at: datetime) -> Peer:
    if state not in ("active", "disabled"):
        raise ValueError(f"peer state must be active or disabled, not {state!r}")
    if await w.conn.fetchval(_UPDATE_STATE, name, state) is None:
        raise NotFound(f"no peer axis {name!r}")
    await w.conn.execute(_UPDATE_PEER_AGENCY_STATE, name, state)
    w.audit("peer.state_changed", at, detail={"peer": name, "state": state})
    return await _require(w.conn, name)


async def set_directory_version(w: PgWrite, name: str, version: int) -> None:
    await w.conn.execute(_UPDATE_DIRECTORY, name, version)


async def add_recipients(
    w: PgWrite, axis_id: str, codes: Sequence[str], at: datetime
) -> tuple[str, ...]:
    added = []
    for code in codes:
        mode = await w.conn.fetchval(_INSERT_RECIPIENT, axis_id, code, at)
        if mode is not None:
            added.append(code)
            if mode == "push":
                w.work_became_due()
    if added:
        w.audit("document.recipients_added", at, axis_id=axis_id, detail={"recipients": added})
    return tuple(added)


async def record_relay_receipt(w: PgWrite, delivery_id: int, receipt: bytes) -> None:
    await w.conn.execute(_RELAY_RECEIPT, delivery_id, receipt)
