"""Named operators and their console sessions on PostgreSQL: the twin of sqlite_operators.py.

Two nodes adding the same name race on the primary key: one insert wins
(ON CONFLICT DO NOTHING), the other answers ``OperatorExists``.
"""

from __future__ import annotations

from datetime import datetime

import asyncpg

from edoc_axis.errors import NotFound
from edoc_axis.store.base import OperatorExists
from edoc_axis.store.codec import POSTGRES, console_session_record
from edoc_axis.store.pg_writer import PgWrite
from edoc_axis.store.records import ConsoleSessionRow, Operator

_INSERT = """
INSERT INTO operators (name, token_hash, created_at) VALUES ($1, $2, $3)
ON CONFLICT DO NOTHING RETURNING created_at"""
_SELECT_ALL = "SELECT name, created_at FROM operators ORDER BY name"
_SELECT_BY_HASH = "SELECT name, created_at FROM operators WHERE token_hash = $1"
_DELETE = "DELETE FROM operators WHERE name = $1 RETURNING name"
_SESSION_PURGE = "DELETE FROM console_sessions WHERE created_at < $1 OR seen_at < $2"
_SESSION_INSERT = """
INSERT INTO console_sessions (id_hash, actor, csrf, created_at, seen_at, notes)
VALUES ($1, $2, $3, $4, $5, $6)"""
_SESSION_SELECT = "SELECT * FROM console_sessions WHERE id_hash = $1"
_SESSION_UPDATE = "UPDATE console_sessions SET seen_at = $2, notes = $3 WHERE id_hash = $1"
_SESSION_DELETE = "DELETE FROM console_sessions WHERE id_hash = $1"


async def create_operator(w: PgWrite, name: str, token_hash: str, at: datetime) -> Operator:
    created = await w.conn.fetchval(_INSERT, name, token_hash, at)
    if created is None:
        raise OperatorExists(f"operator {name!r} is already registered")
    w.audit("operator.added", at, detail={"name": name})
    return Operator(name=name, created_at=created)


async def list_operators(conn: asyncpg.Connection) -> list[Operator]:
    rows = await conn.fetch(_SELECT_ALL)
    return [Operator(name=r["name"], created_at=r["created_at"]) for r in rows]


async def remove_operator(w: PgWrite, name: str, at: datetime) -> None:
    if await w.conn.fetchval(_DELETE, name) is None:
        raise NotFound(f"no operator {name!r}")
    w.audit("operator.removed", at, detail={"name": name})


async def operator_for_token(conn: asyncpg.Connection, token_hash: str) -> Operator | None:
    row = await conn.fetchrow(_SELECT_BY_HASH, token_hash)
    return None if row is None else Operator(name=row["name"], created_at=row["created_at"])


# -- console sessions ------------------------------------------------------------
async def create_console_session(
    w: PgWrite, row: ConsoleSessionRow, created_before: datetime, seen_before: datetime
) -> None:
    await w.conn.execute(_SESSION_PURGE, created_before, seen_before)
    await w.conn.execute(
        _SESSION_INSERT, row.id_hash, row.actor, row.csrf, row.created_at, row.seen_at, row.notes
    )


async def console_session(conn: asyncpg.Connection, id_hash: str) -> ConsoleSessionRow | None:
    row = await conn.fetchrow(_SESSION_SELECT, id_hash)
    return None if row is None else console_session_record(row, POSTGRES)


async def update_console_session(w: PgWrite, id_hash: str, seen_at: datetime, notes: str) -> None:
    await w.conn.execute(_SESSION_UPDATE, id_hash, seen_at, notes)


async def delete_console_session(w: PgWrite, id_hash: str) -> None:
    await w.conn.execute(_SESSION_DELETE, id_hash)
