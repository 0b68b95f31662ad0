"""The single SQLite writer: group commit, one savepoint per job, the audit chain.

Write verbs become jobs (plain functions of a ``WriteContext``) queued to one
task. It takes whatever is queued (up to ``max_batch``) and runs the whole
batch as one call on its own thread: BEGIN IMMEDIATE, each job in a SAVEPOINT,
COMMIT. So a burst of requests shares one fsync, and the event loop hops to the
thread once per batch rather than once per statement.

The writer keeps this thread of its own rather than an aiosqlite connection (as
the readers have): aiosqlite's public calls are one statement each, so a batch
in one transaction would cost a hop per statement (BEGIN, a SAVEPOINT and a
RELEASE per job, each job's own statements, COMMIT) instead of one; and the
commit path, on which durability rests, should not depend on its private call.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Generic, TypeVar

import structlog

from edoc_axis.core.audit import canonical_detail, entry_hash, utc_iso
from edoc_axis.errors import Unavailable
from edoc_axis.store import queries as q
from edoc_axis.store.migrate import (
    SchemaBehind,
    apply_migrations,
    bundled_migrations,
    create_if_empty,
    pending_migrations,
)

T = TypeVar("T")
log = structlog.get_logger(__name__)


_WAL_RETRY_S = 0.01


def enter_wal(
    conn: sqlite3.Connection, timeout_s: float, sleep: Callable[[float], None] = time.sleep
) -> str:
    """``PRAGMA journal_mode=WAL``; the mode now in force.

    On a new file the switch needs the exclusive lock, and when several processes
    open the file at once (``serve --processes N`` on a new home) SQLite may
    answer SQLITE_BUSY at once rather than wait: ``busy_timeout`` does not cover
    it. So it is tried again until ``timeout_s`` has passed; once the file is in
    WAL mode the switch needs no lock.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return str(conn.execute("PRAGMA journal_mode=WAL").fetchone()[0])
        except sqlite3.OperationalError as exc:
            busy = getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_BUSY
            if not busy or time.monotonic() >= deadline:
                raise
        sleep(_WAL_RETRY_S)


@dataclass
class _ChainTip:
    """The audit head as seen inside the current write transaction."""

    seq: int
    hash: str


class WriteContext:
    """What a job gets: the connection, inside an open transaction, and the audit chain."""

    def __init__(self, conn: sqlite3.Connection, tip: _ChainTip) -> None:
        self.conn = conn
        self._tip = tip

    def audit(
        self,
        event: str,
        at: datetime,
        *,
        axis_id: str | None = None,
        agency: str | None = None,
        detail: Mapping[str, Any] | None = None,
    ) -> None:
        """Append one chained audit entry in this transaction."""
        seq = self._tip.seq + 1
        at_iso = utc_iso(at)
        detail_json = canonical_detail(detail)
        digest = entry_hash(self._tip.hash, seq, at_iso, event, axis_id, agency, detail_json)
        self.conn.execute(
            q.INSERT_AUDIT,
            (seq, at_iso, event, axis_id, agency, detail_json, self._tip.hash, digest),
        )
        self._tip.seq, self._tip.hash = seq, digest


Job = Callable[[WriteContext], T]


@dataclass
class _Queued(Generic[T]):
    job: Job[T]
    future: asyncio.Future[T]


class _Stop:
    pass


_STOP = _Stop()
# (succeeded, value or exception) per job, in batch order.
_Result = tuple[bool, Any]


def _unavailable(exc: BaseException) -> Unavailable:
    error = Unavailable(f"the store could not commit: {exc}", retry_after_s=1)
    error.__cause__ = exc
    return error


class GroupCommitWriter:
    """Owns the one write connection; see the module docstring."""

    def __init__(
        self,
        path: Path,
        *,
        busy_timeout_s: float = 5.0,
        max_batch: int = 256,
        max_queue: int = 10_000,
        migrate: bool = True,
    ) -> None:
        self._path = path
        self._migrate = migrate
        self._busy_timeout_s = busy_timeout_s
        self._max_batch = max_batch
        self._queue: asyncio.Queue[_Queued[Any] | _Stop] = asyncio.Queue(maxsize=max_queue)
        self._executor: ThreadPoolExecutor | None = None
        self._conn: sqlite3.Connection | None = None
        self._task: asyncio.Task[None] | None = None
        self._accepting = False
        self.commits = 0
        """Transactions committed; tests use it to see that batching happens."""
        self.jobs_done = 0

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def start(self) -> None:
        """Connect, set the pragmas, apply migrations, start draining the queue."""
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="edoc-store-writer")
        loop = asyncio.get_running_loop()
        try:
            self._conn = await loop.run_in_executor(self._executor, self._connect)
        except BaseException:
            self._executor.shutdown(wait=True)
            self._executor = None
            raise
        self._accepting = True
        self._task = asyncio.create_task(self._drain(), name="edoc-store-writer")

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self._path, isolation_level=None, timeout=self._busy_timeout_s)
        try:
            conn.row_factory = sqlite3.Row
            mode = enter_wal(conn, self._busy_timeout_s)
            if mode.lower() != "wal":
                raise RuntimeError(f"could not switch {self._path} to WAL (got {mode})")
            # FULL: a commit is on disk before any future is resolved.
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute(f"PRAGMA busy_timeout={int(self._busy_timeout_s * 1000)}")
            migrations = bundled_migrations("sqlite")
            # A new (empty) file is created whole; an existing one is only
            # migrated when asked to (`edoc-axis migrate`), never behind an
            # operator's back by `serve`.
            if self._migrate:
                apply_migrations(conn, migrations)
            elif not create_if_empty(conn, migrations):
                pending = pending_migrations(conn, migrations)
                if pending:
                    raise SchemaBehind(str(self._path), pending)
        except BaseException:
            conn.close()
            raise
        return conn

    async def submit(self, job: Job[T]) -> T:
        """Queue a job; its result (or exception) once its batch has committed."""
        if not self._accepting:
            raise Unavailable("the store is not open", retry_after_s=1)
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        try:
            self._queue.put_nowait(_Queued(job, future))
        except asyncio.QueueFull:
            raise Unavailable("the store's write queue is full", retry_after_s=1) from None
        return await future

    async def stop(self) -> None:
        """Run what is already queued, then close the connection."""
        self._accepting = False
        if self._task is not None:
            await self._queue.put(_STOP)
            await self._task
            self._task = None
        if self._executor is not None:
            conn, self._conn = self._conn, None
            if conn is not None:
                await asyncio.get_running_loop().run_in_executor(self._executor, conn.close)
            self._executor.shutdown(wait=True)
            self._executor = None

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            batch = [await self._queue.get()]
            while len(batch) < self._max_batch and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            work = [item for item in batch if isinstance(item, _Queued)]
            if work:
                jobs = [item.job for item in work]
                try:
                    results = await loop.run_in_executor(self._executor, self._run_batch, jobs)
                except Exception as exc:  # the batch runner itself failed: nothing committed
                    log.exception("store.writer_failed")
                    results = [(False, _unavailable(exc)) for _ in work]
                for item, (ok, value) in zip(work, results, strict=True):
                    if item.future.done():  # the caller was cancelled; the write stands
                        continue
                    if ok:
                        item.future.set_result(value)
                    else:
                        item.future.set_exception(value)
            if any(isinstance(item, _Stop) for item in batch):
                return

    # -- on the writer thread ---------------------------------------------------
    def _run_batch(self, jobs: list[Job[Any]]) -> list[_Result]:
        conn = self._conn
        if conn is None:
            raise RuntimeError("writer connection is closed")
        try:
            conn.execute("BEGIN IMMEDIATE")
            # Read the head inside the write lock: another process (the CLI) may
            # have appended since our last batch.
            row = conn.execute(q.SELECT_AUDIT_HEAD).fetchone()
            tip = _ChainTip(row[0], row[1])
            start_seq = tip.seq
            ctx = WriteContext(conn, tip)
            results = [self._run_job(ctx, job) for job in jobs]
            if tip.seq != start_seq:
                conn.execute(q.UPDATE_AUDIT_HEAD, {"seq": tip.seq, "hash": tip.hash})
            self.commit_transaction(conn)
        except sqlite3.Error as exc:
            # BEGIN, COMMIT or a storage-level failure inside a job: the batch
            # is all or nothing, so every job is told nothing was stored.
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            log.warning("store.batch_failed", jobs=len(jobs), error=str(exc))
            return [(False, _unavailable(exc)) for _ in jobs]
        self.commits += 1
        self.jobs_done += len(jobs)
        return results

    def commit_transaction(self, conn: sqlite3.Connection) -> None:
        """COMMIT; a separate method so tests can make it fail like a full disk."""
        conn.execute("COMMIT")

    @staticmethod
    def _run_job(ctx: WriteContext, job: Job[Any]) -> _Result:
        mark = (ctx._tip.seq, ctx._tip.hash)
        ctx.conn.execute("SAVEPOINT job")
        try:
            value = job(ctx)
        except sqlite3.IntegrityError as exc:
            error: BaseException = exc
        except sqlite3.Error:
            raise  # storage-level: fails the whole batch
        except Exception as exc:
            error = exc
        else:
            ctx.conn.execute("RELEASE job")
            return (True, value)
        # Undo only this job: its rows and its audit entries.
        ctx.conn.execute("ROLLBACK TO job")
        ctx.conn.execute("RELEASE job")
        ctx._tip.seq, ctx._tip.hash = mark
        return (False, error)
