"""Named operators on PostgreSQL: the twin of sqlite_operators.py.

Two nodes adding the same name race on the primary key: one insert wins
(ON CONFLICT DO NOTHING), the other answers ``OperatorExists``.
"""

from __future__ import annotations

from datetime import datetime

import asyncpg

from edoc_axis.errors import NotFound
from edoc_axis.store.base import OperatorExists
from edoc_axis.store.pg_writer import PgWrite
from edoc_axis.store.records import Operator

_INSERT = """
INSERT INTO operators (name, token_hash, created_at) VALUES ($1, $2, $3)
ON CONFLICT DO NOTHING RETURNING created_at"""
_SELECT_ALL = "SELECT name, created_at FROM operators ORDER BY name"
_SELECT_BY_HASH = "SELECT name, created_at FROM operators WHERE token_hash = $1"
_DELETE = "DELETE FROM operators WHERE name = $1 RETURNING name"


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
