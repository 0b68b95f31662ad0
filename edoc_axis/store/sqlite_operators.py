"""Named operators and their console sessions on SQLite: reads and write jobs with their SQL."""

from __future__ import annotations

import sqlite3
from datetime import datetime

from edoc_axis.errors import NotFound
from edoc_axis.store.base import OperatorExists
from edoc_axis.store.codec import SQLITE, console_session_record, from_db, to_db
from edoc_axis.store.records import ConsoleSessionRow, Operator
from edoc_axis.store.sqlite_writer import WriteContext

_INSERT = "INSERT INTO operators (name, token_hash, created_at) VALUES (:name, :hash, :at)"
_SELECT_ALL = "SELECT name, created_at FROM operators ORDER BY name"
_SELECT_NAME = "SELECT name FROM operators WHERE name = :name"
_SELECT_BY_HASH = "SELECT name, created_at FROM operators WHERE token_hash = :hash"
_DELETE = "DELETE FROM operators WHERE name = :name"
_SESSION_PURGE = (
    "DELETE FROM console_sessions WHERE created_at < :created_before OR seen_at < :seen_before"
)
_SESSION_INSERT = """
INSERT INTO console_sessions (id_hash, actor, csrf, created_at, seen_at, notes)
VALUES (:id_hash, :actor, :csrf, :created_at, :seen_at, :notes)"""
_SESSION_SELECT = "SELECT * FROM console_sessions WHERE id_hash = :id_hash"
_SESSION_UPDATE = (
    "UPDATE console_sessions SET seen_at = :seen_at, notes = :notes WHERE id_hash = :id_hash"
)
_SESSION_DELETE = "DELETE FROM console_sessions WHERE id_hash = :id_hash"


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


# -- console sessions ------------------------------------------------------------
def create_console_session(
    ctx: WriteContext, row: ConsoleSessionRow, created_before: datetime, seen_before: datetime
) -> None:
    ctx.conn.execute(
        _SESSION_PURGE,
        {"created_before": to_db(created_before), "seen_before": to_db(seen_before)},
    )
    ctx.conn.execute(
        _SESSION_INSERT,
        {
            "id_hash": row.id_hash,
            "actor": row.actor,
            "csrf": row.csrf,
            "created_at": to_db(row.created_at),
            "seen_at": to_db(row.seen_at),
            "notes": row.notes,
        },
    )


def console_session(conn: sqlite3.Connection, id_hash: str) -> ConsoleSessionRow | None:
    row = conn.execute(_SESSION_SELECT, {"id_hash": id_hash}).fetchone()
    return None if row is None else console_session_record(row, SQLITE)


def update_console_session(ctx: WriteContext, id_hash: str, seen_at: datetime, notes: str) -> None:
    ctx.conn.execute(
        _SESSION_UPDATE, {"id_hash": id_hash, "seen_at": to_db(seen_at), "notes": notes}
    )


def delete_console_session(ctx: WriteContext, id_hash: str) -> None:
    ctx.conn.execute(_SESSION_DELETE, {"id_hash": id_hash})
