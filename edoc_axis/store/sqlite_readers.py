"""Reader threads, each with its own connection; WAL lets them read while the writer writes."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Concatenate, ParamSpec, TypeVar

from edoc_axis.core.audit import AuditEntry, AuditHead, AuditReport, AuditRow, verify_rows
from edoc_axis.errors import Unavailable
from edoc_axis.store import queries as q
from edoc_axis.store.codec import audit_record

P = ParamSpec("P")
T = TypeVar("T")


def _connect_reader(path: Path, busy_timeout_s: float) -> sqlite3.Connection:
    conn = sqlite3.connect(
        path, isolation_level=None, timeout=busy_timeout_s, check_same_thread=False
    )
    conn.row_factory = sqlite3.Row
    # A reader that tries to write is a bug; make SQLite say so.
    conn.execute("PRAGMA query_only=ON")
    return conn


class ReaderPool:
    """Runs one synchronous read function per call on a reader thread."""

    def __init__(self, path: Path, *, busy_timeout_s: float, threads: int = 2) -> None:
        self._path = path
        self._busy_timeout_s = busy_timeout_s
        self._threads = threads
        self._local = threading.local()
        self._conns: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._executor: ThreadPoolExecutor | None = None

    def start(self) -> None:
        self._executor = ThreadPoolExecutor(
            max_workers=self._threads, thread_name_prefix="edoc-store-reader"
        )

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = _connect_reader(self._path, self._busy_timeout_s)
            self._local.conn = conn
            with self._lock:
                self._conns.append(conn)
        return conn

    def _call(
        self, fn: Callable[Concatenate[sqlite3.Connection, P], T], *args: P.args, **kw: P.kwargs
    ) -> T:
        return fn(self._conn(), *args, **kw)

    async def run(
        self, fn: Callable[Concatenate[sqlite3.Connection, P], T], *args: P.args, **kw: P.kwargs
    ) -> T:
        """``fn(conn, *args, **kw)`` on a reader thread; storage errors become Unavailable."""
        if self._executor is None:
            raise Unavailable("the store is not open", retry_after_s=1)
        call = partial(self._call, fn, *args, **kw)
        try:
            return await asyncio.get_running_loop().run_in_executor(self._executor, call)
        except sqlite3.Error as exc:
            raise Unavailable(f"the store could not read: {exc}", retry_after_s=1) from exc

    def stop(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None
        with self._lock:
            for conn in self._conns:
                conn.close()
            self._conns.clear()


def select_one(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT 1").fetchone()[0])


def audit_batch(conn: sqlite3.Connection, after_seq: int, limit: int) -> list[AuditEntry]:
    rows = conn.execute(q.AUDIT_BATCH, (after_seq, limit)).fetchall()
    return [audit_record(row) for row in rows]


def verify_audit_file(path: Path, busy_timeout_s: float, batch: int = 10_000) -> AuditReport:
    """Verify the chain and head in one read snapshot, on its own connection.

    Its own connection because the read transaction stays open for the whole
    walk; a shared reader would then serve stale data to other callers.
    """
    conn = sqlite3.connect(path, isolation_level=None, timeout=busy_timeout_s)
    try:
        conn.execute("PRAGMA query_only=ON")
        conn.execute("BEGIN")
        seq, hash_ = conn.execute(q.SELECT_AUDIT_HEAD).fetchone()
        cursor = conn.execute(q.AUDIT_ALL)
        report = verify_rows(_stream(cursor, batch), AuditHead(seq, hash_))
        conn.execute("COMMIT")
        return report
    finally:
        conn.close()


def _stream(cursor: sqlite3.Cursor, batch: int) -> Iterator[AuditRow]:
    # Raw rows, no records: the stored time text is what was hashed.
    while rows := cursor.fetchmany(batch):
        yield from rows
