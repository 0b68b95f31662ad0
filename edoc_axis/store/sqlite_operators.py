"""Named operators on SQLite: reads and write jobs with their SQL."""

from __future__ import annotations

import sqlite3
from datetime import datetime

from edoc_axis.errors import NotFound
from edoc_axis.store.base import OperatorExists
from edoc_axis.store.codec import from_db, to_db
from edoc_axis.store.records import Operator
from edoc_axis.store.sqlite_writer import WriteContext

_INSERT = "INSERT INTO operators (name, token_hash, created_at) VALUES (:name, :hash, :at)"
_SELECT_ALL = "SELECT name, created_at FROM operators ORDER BY name"
_SELECT_NAME = "SELECT name FROM operators WHERE name = :name"
_SELECT_BY_HASH = "SELECT name, created_at FROM operators WHERE token_hash = :hash"
_DELETE = "DELETE FROM operators WHERE name = :name"


def _operator(row: sqlite3.Row) -> Operator:
    return Operator(name=row["name"], created_at=from_db(row["created_at"]))


def create_operator(ctx: WriteContext, name: str, token_hash: str, at: datetime) -> Operator:
    if ctx.conn.execute(_SELECT_NAME, {"name": name}).fetchone() is not None:
        raise OperatorExists(f"operator {name!r} is already registered")
    try:
        ctx.conn.execute(_INSERT, {"name": name, "hash": token_hash, "at": to_db(at)})
    except sqlite3.IntegrityError as exc:
        raise OperatorExists(f"operator {name!r} could not be registered: {exc}") from exc
    ctx.audit("operator.added", at, detail={"name": name})
    return Operator(name=name, created_at=from_db(to_db(at)))


def list_operators(conn: sqlite3.Connection) -> list[Operator]:
    return [_operator(row) for row in conn.execute(_SELECT_ALL).fetchall()]


def remove_operator(ctx: WriteContext, name: str, at: datetime) -> None:
    if ctx.conn.execute(_DELETE, {"name": name}).rowcount == 0:
        raise NotFound(f"no operator {name!r}")
    ctx.audit("operator.removed", at, detail={"name": name})


def operator_for_token(conn: sqlite3.Connection, token_hash: str) -> Operator | None:
    row = conn.execute(_SELECT_BY_HASH, {"hash": token_hash}).fetchone()
    return None if row is None else _operator(row)
