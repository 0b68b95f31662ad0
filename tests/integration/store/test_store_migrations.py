"""Numbered migrations: shipped as package data, applied once, recorded, atomic."""

from __future__ import annotations

import configparser
import multiprocessing
import sqlite3
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

import pytest

from edoc_axis.core.audit import GENESIS
from edoc_axis.store import SqliteStore
from edoc_axis.store.migrate import (
    Migration,
    SchemaBehind,
    apply_migrations,
    bundled_migrations,
    split_statements,
)
from edoc_axis.store.sqlite_writer import enter_wal

REPO = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_migrations_are_numbered_in_order_and_declared_as_package_data(dialect: str) -> None:
    migrations = bundled_migrations(dialect)
    assert [m.version for m in migrations] == list(range(1, len(migrations) + 1))
    assert migrations[0].name == "initial"
    config = configparser.ConfigParser()
    config.read(REPO / "setup.cfg")
    patterns = [p.strip() for p in config["options.package_data"]["edoc_axis"].split(",")]
    folder = REPO / "edoc_axis" / "store" / "migrations" / dialect
    for sql in folder.glob("*.sql"):
        relative = sql.relative_to(REPO / "edoc_axis").as_posix()
        assert any(fnmatch(relative, p) for p in patterns), relative


async def test_open_applies_once_and_records_versions(tmp_path: Path) -> None:
    path = tmp_path / "axis.sqlite"
    for _ in range(2):
        async with SqliteStore(path):
            pass
    db = sqlite3.connect(path)
    try:
        rows = db.execute("SELECT version, name FROM schema_migrations").fetchall()
        head = db.execute("SELECT seq, hash FROM audit_head").fetchone()
        mode = db.execute("PRAGMA journal_mode").fetchone()[0]
    finally:
        db.close()
    assert rows == [(m.version, m.name) for m in bundled_migrations("sqlite")]
    assert head == (0, GENESIS)
    assert mode == "wal"


def test_a_failing_migration_leaves_nothing_behind(tmp_path: Path) -> None:
    db = sqlite3.connect(tmp_path / "m.sqlite", isolation_level=None)
    try:
        broken = Migration(
            1, "broken", "CREATE TABLE a (x INTEGER);\nCREATE TABLE a (y INTEGER);\n"
        )
        with pytest.raises(sqlite3.OperationalError):
            apply_migrations(db, [broken])
        assert db.execute("SELECT name FROM sqlite_master WHERE name = 'a'").fetchall() == []
        assert db.execute("SELECT COUNT(*) FROM schema_migrations").fetchone() == (0,)
        good = Migration(1, "good", "CREATE TABLE a (x INTEGER);")
        assert apply_migrations(db, [good]) == [1]
        assert apply_migrations(db, [good]) == []
    finally:
        db.close()


def test_split_statements_keeps_semicolons_inside_strings() -> None:
    script = (
        "-- note; with a semicolon\n"
        "CREATE TABLE t (x TEXT DEFAULT 'a;b');\n"
        "INSERT INTO t VALUES ('c;d');\n"
    )
    assert split_statements(script) == [
        "-- note; with a semicolon\nCREATE TABLE t (x TEXT DEFAULT 'a;b');",
        "INSERT INTO t VALUES ('c;d');",
    ]


async def test_a_store_behind_is_refused_unless_migrating(tmp_path: Path) -> None:
    path = tmp_path / "axis.sqlite"
    async with SqliteStore(path, migrate=False):  # a new file is created whole
        pass
    # Make it a store from before 0001: only the bookkeeping table is there.
    db = sqlite3.connect(path, isolation_level=None)
    tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    for table in tables:
        if table != "schema_migrations":
            db.execute(f"DROP TABLE {table}")
    db.execute("DELETE FROM schema_migrations")
    db.close()
    with pytest.raises(SchemaBehind) as caught:
        await SqliteStore(path, migrate=False).open()
    assert "edoc-axis migrate" in caught.value.detail
    bundled = bundled_migrations("sqlite")
    assert [m.name for m in caught.value.pending] == [m.name for m in bundled]
    assert caught.value.pending[0].name == "initial"
    # `edoc-axis migrate`
    assert await SqliteStore(path, migrate=False).migrate() == [m.version for m in bundled]
    assert await SqliteStore(path, migrate=False).migrate() == []
    async with SqliteStore(path, migrate=False) as store:
        await store.ping()
        assert (await store.verify_audit()).ok


def _open_new_store(path: str, barrier: Any) -> str:
    """In a child process: wait for the others, then open the store as `serve` does."""
    import asyncio

    async def open_and_close() -> None:
        async with SqliteStore(Path(path), migrate=False) as store:
            await store.ping()

    barrier.wait()
    try:
        asyncio.run(open_and_close())
    except SchemaBehind as exc:
        return exc.code
    except sqlite3.OperationalError as exc:  # e.g. "database is locked" switching to WAL
        return str(exc)
    return "ok"


def test_processes_opening_one_new_file_at_once_all_find_it_whole(tmp_path: Path) -> None:
    # `serve --processes N` on a new home: N processes open a file no one has
    # created yet. One creates it; none may take the half-made store for one behind.
    context = multiprocessing.get_context("spawn")
    processes = 8
    for attempt in range(6):
        path = tmp_path / f"axis-{attempt}.sqlite"
        barrier = context.Manager().Barrier(processes)
        with context.Pool(processes) as pool:
            outcomes = pool.starmap(_open_new_store, [(str(path), barrier)] * processes)
        assert outcomes == ["ok"] * processes
        db = sqlite3.connect(path)
        versions = [row[0] for row in db.execute("SELECT version FROM schema_migrations")]
        db.close()
        assert sorted(versions) == [m.version for m in bundled_migrations("sqlite")]


class _BusyThenWal:
    """A connection whose switch to WAL is refused as busy ``busy`` times, then made."""

    def __init__(self, busy: int, error: str = "database is locked") -> None:
        self.busy, self.error, self.tries = busy, error, 0

    def execute(self, sql: str) -> Any:
        assert sql == "PRAGMA journal_mode=WAL"
        self.tries += 1
        if self.tries <= self.busy:
            exc = sqlite3.OperationalError(self.error)
            exc.sqlite_errorcode = sqlite3.SQLITE_BUSY if "locked" in self.error else 1
            raise exc
        return self

    def fetchone(self) -> tuple[str]:
        return ("wal",)


def test_the_switch_to_wal_is_tried_again_while_busy_and_only_then() -> None:
    # SQLite answers SQLITE_BUSY at once, not after busy_timeout, when processes
    # opening a new file at once switch it to WAL (1-2 % of opens in 8 processes).
    slept: list[float] = []
    busy = _BusyThenWal(busy=3)
    assert enter_wal(busy, 5.0, sleep=slept.append) == "wal"  # type: ignore[arg-type]
    assert busy.tries == 4 and len(slept) == 3
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        enter_wal(_BusyThenWal(busy=10**6), 0.05, sleep=lambda _s: None)  # type: ignore[arg-type]
    other = _BusyThenWal(busy=1, error="disk I/O error")
    with pytest.raises(sqlite3.OperationalError, match="disk I/O"):
        enter_wal(other, 5.0, sleep=slept.append)  # type: ignore[arg-type]
    assert other.tries == 1
