"""Read connections on aiosqlite; WAL lets them read while the writer writes."""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from operator import attrgetter
from pathlib import Path
from typing import Concatenate, ParamSpec, TypeVar

import aiosqlite

from edoc_axis.core.audit import AuditEntry, AuditHead, AuditReport, AuditRow, verify_rows
from edoc_axis.errors import Unavailable
from edoc_axis.store import queries as q
from edoc_axis.store.codec import audit_record

P = ParamSpec("P")
T = TypeVar("T")


@dataclass(eq=False)
class _Reader:
    conn: aiosqlite.Connection
    in_flight: int = 0


class ReaderPool:
    """A few aiosqlite connections; each read verb runs whole on one of them.

    A verb is one synchronous function of sqlite_reads (the write jobs call
    the same functions inside their transaction), run on the connection's own
    thread: one thread hop per verb however many statements it makes. That is
    ``aiosqlite.Connection._execute``, the call its public methods wrap; the
    public ones would cost a hop per statement (two for a document, four for
    an agency) and need an async copy of every read.

    A read goes straight to the connection with the fewest reads in flight and
    waits in that connection's queue: its thread takes the next read as soon as
    it is done. Handing connections out from an idle queue instead (returned
    when the awaiting task next runs) left them idle while the loop was busy:
    at half rate p99 97-254 ms against 48-71 ms with the former thread pool
    (``bench --docs 600``, three runs each).

    Against the former pool of reader threads (plain sqlite3 connections on a
    ThreadPoolExecutor), ``edoc-axis bench --docs 2000``, three runs of each
    interleaved on a shared 2-core machine (load 5-7), pool | aiosqlite:
    intake 163, 190, 198 | 204, 214, 270 docs/s; delivered 110, 128, 130 |
    133, 143, 166 docs/s; intake p99 299, 269, 250 | 243, 227, 174 ms; at half
    rate p99 63, 60, 19 | 54, 69, 50 ms; CPU per document 7.1, 6.3, 6.0 | 6.0,
    6.0, 5.4 ms. No slowdown; the differences are within the machine's noise.
    """

    def __init__(self, path: Path, *, busy_timeout_s: float, threads: int = 2) -> None:
        self._path = path
        self._busy_timeout_s = busy_timeout_s
        self._size = threads
        self._readers: list[_Reader] = []
        self._open = False

    async def start(self) -> None:
        try:
            for _ in range(self._size):
                conn = await aiosqlite.connect(
                    self._path, isolation_level=None, timeout=self._busy_timeout_s
                )
                self._readers.append(_Reader(conn))
                conn.row_factory = sqlite3.Row
                # A reader that tries to write is a bug; make SQLite say so.
                await conn.execute("PRAGMA query_only=ON")
        except BaseException:
            await self.stop()
            raise
        self._open = True

    async def run(
        self, fn: Callable[Concatenate[sqlite3.Connection, P], T], *args: P.args, **kw: P.kwargs
    ) -> T:
        """``fn(conn, *args, **kw)`` on a reader; storage errors become Unavailable."""
        if not self._open:
            raise Unavailable("the store is not open", retry_after_s=1)
        reader = min(self._readers, key=attrgetter("in_flight"))
        execute: Callable[..., Awaitable[T]] = reader.conn._execute  # unannotated there
        reader.in_flight += 1
        try:
            return await execute(fn, reader.conn._conn, *args, **kw)
        except sqlite3.Error as exc:
            raise Unavailable(f"the store could not read: {exc}", retry_after_s=1) from exc
        finally:
            reader.in_flight -= 1

    async def stop(self) -> None:
        """Close every reader; the reads queued on it finish first."""
        self._open = False
        readers, self._readers = self._readers, []
        for reader in readers:
            await reader.conn.close()


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
