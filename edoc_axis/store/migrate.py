"""Numbered SQL migrations, applied in order, each in its own transaction."""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources

from edoc_axis.core.audit import utc_iso
from edoc_axis.errors import EdocError

_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str


def bundled_migrations(dialect: str = "sqlite") -> list[Migration]:
    """The migration files shipped as package data, in version order."""
    folder = resources.files("edoc_axis.store") / "migrations" / dialect
    found: list[Migration] = []
    for entry in folder.iterdir():
        match = _NAME.match(entry.name)
        if match is not None:
            found.append(Migration(int(match[1]), match[2], entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise RuntimeError(f"duplicate migration versions in {dialect}: {versions}")
    return found


def split_statements(script: str) -> list[str]:
    """Split a script into complete statements (sqlite3 knows where they end)."""
    statements: list[str] = []
    pending = ""
    for line in script.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            if pending.strip():
                statements.append(pending.strip())
            pending = ""
    if pending.strip() and not _only_comments(pending):
        raise ValueError(f"incomplete SQL statement at the end: {pending.strip()[:80]!r}")
    return statements


def _only_comments(text: str) -> bool:
    return all(not line.strip() or line.strip().startswith("--") for line in text.splitlines())


_BOOKKEEPING = (
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
)


def apply_migrations(conn: sqlite3.Connection, migrations: list[Migration]) -> list[int]:
    """Apply what is missing; returns the versions applied now.

    Each migration runs under BEGIN IMMEDIATE and re-checks the recorded
    versions inside it, so two processes opening one file cannot both apply it.
    """
    conn.execute(_BOOKKEEPING)
    applied_now: list[int] = []
    for migration in migrations:
        conn.execute("BEGIN IMMEDIATE")
        try:
            done = conn.execute(
                "SELECT 1 FROM schema_migrations WHERE version = ?", (migration.version,)
            ).fetchone()
            if done is None:
                _run(conn, migration)
                applied_now.append(migration.version)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
    return applied_now


def create_if_empty(conn: sqlite3.Connection, migrations: list[Migration]) -> bool:
    """Create a store with no table at all whole, in one transaction; True if it was empty.

    The emptiness is judged under the write lock, so of several processes
    opening one new file at once (``serve --processes N`` on a new home) one
    creates it and the others wait for the lock, then find it complete: none
    sees a store half created and takes it for one behind.
    """
    conn.execute("BEGIN IMMEDIATE")
    try:
        empty = is_empty(conn)
        if empty:
            conn.execute(_BOOKKEEPING)
            for migration in migrations:
                _run(conn, migration)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return empty


def _run(conn: sqlite3.Connection, migration: Migration) -> None:
    for statement in split_statements(migration.sql):
        conn.execute(statement)
    conn.execute(
        "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
        (migration.version, migration.name, utc_iso(datetime.now(UTC))),
    )


class SchemaBehind(EdocError):
    """The store's schema lacks migrations this version of the axis needs."""

    code, http_status, title = "store.schema-behind", 503, "Store schema is behind"

    def __init__(self, where: str, pending: list[Migration]) -> None:
        names = ", ".join(f"{m.version:04d}_{m.name}" for m in pending)
        super().__init__(
            f"the store at {where} is behind this version of edoc-axis (pending migrations: "
            f"{names}); back it up, then run `edoc-axis migrate --config <axis.toml>`"
        )
        self.pending = pending


def pending_migrations(conn: sqlite3.Connection, migrations: list[Migration]) -> list[Migration]:
    """The migrations not yet recorded in this SQLite database."""
    exists = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'"
    ).fetchone()
    if exists is None:
        return list(migrations)
    done = {int(row[0]) for row in conn.execute("SELECT version FROM schema_migrations")}
    return [m for m in migrations if m.version not in done]


def is_empty(conn: sqlite3.Connection) -> bool:
    """No table at all: a store being created, which nothing can be behind."""
    return conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table'").fetchone() is None
