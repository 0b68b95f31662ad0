"""Write transactions on PostgreSQL: group commit per node, the audit chain at the end.

Several nodes write at once; races between them are settled by the database
(unique keys, ON CONFLICT, row locks, fenced UPDATEs) in READ COMMITTED
transactions. Audit events are collected while a transaction runs and appended
just before COMMIT under the row lock on ``audit_head``, so every node's
entries form one gap-free chain.

That lock is held through COMMIT (the WAL flush), so audited transactions of
all nodes together are serialised. Each node therefore groups the write verbs
queued at the same moment into one transaction (``PgWriter``: a few lanes,
each taking what is queued, one SAVEPOINT per verb when there are several, so
a refused verb undoes only itself): one lock and one flush for the group.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import Any, TypeVar

import asyncpg
import structlog

from edoc_axis.core.audit import canonical_detail, entry_hash, utc_iso
from edoc_axis.errors import Unavailable
from edoc_axis.store import pg_queries as q

T = TypeVar("T")
log = structlog.get_logger(__name__)

# What "the database cannot be reached or cannot commit" looks like from asyncpg.
CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.TooManyConnectionsError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CrashShutdownError,
    asyncpg.exceptions.ReadOnlySQLTransactionError,  # a standby after failover
    asyncpg.exceptions.DeadlockDetectedError,
    asyncpg.exceptions.SerializationError,
    asyncpg.exceptions.InsufficientResourcesError,
    asyncpg.exceptions.DiskFullError,
)


def unavailable(exc: BaseException, doing: str) -> Unavailable:
    error = Unavailable(f"the store could not {doing}: {exc}", retry_after_s=1)
    error.__cause__ = exc
    return error


class PgWrite:
    """What a write verb gets: its connection, inside its transaction, and the audit list."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn
        self._events: list[tuple[str, str, str | None, str | None, str]] = []
        self._notify = False

    def mark(self) -> int:
        return len(self._events)

    def undo_to(self, mark: int) -> None:
        """Forget the events of a verb that was rolled back to its savepoint."""
        del self._events[mark:]

    def audit(
        self,
        event: str,
        at: datetime,
        *,
        axis_id: str | None = None,
        agency: str | None = None,
        detail: Mapping[str, Any] | None = None,
    ) -> None:
        """Append one chained audit entry when this transaction commits."""
        # Canonical now: a detail that cannot be stored fails the verb, not the commit.
        self._events.append((utc_iso(at), event, axis_id, agency, canonical_detail(detail)))

    def work_became_due(self) -> None:
        """Wake the push workers of every node once this transaction commits."""
        self._notify = True

    async def finish(self) -> None:
        """Chain the collected events onto the head (taking its row lock), fold the
        transaction's delivery count changes (migration 0010) and notify."""
        if self._events:
            seq, prev = await self.conn.fetchrow(q.LOCK_AUDIT_HEAD)
            columns: list[list[Any]] = [[] for _ in range(8)]
            for at_iso, event, axis_id, agency, detail_json in self._events:
                seq += 1
                digest = entry_hash(prev, seq, at_iso, event, axis_id, agency, detail_json)
                row = (seq, at_iso, event, axis_id, agency, detail_json, prev, digest)
                for column, value in zip(columns, row, strict=True):
                    column.append(value)
                prev = digest
            await self.conn.execute(q.APPEND_AUDIT, *columns, seq, prev)
        # After the audit head's lock, if taken: the counts' rows are then locked
        # by one transaction at a time, through COMMIT, as the head is.
        await self.conn.execute(q.FOLD_DELIVERY_COUNTS)
        if self._notify:
            # Delivered by PostgreSQL at COMMIT, and only if it commits.
            await self.conn.execute(q.NOTIFY_WORK, q.WORK_CHANNEL)


# A deadlock between two nodes' groups (rows locked in other orders) aborts
# one of them; it is run again from the start, as a whole.
_RETRIED = (asyncpg.exceptions.DeadlockDetectedError, asyncpg.exceptions.SerializationError)
_ATTEMPTS = 3

Job = Callable[[PgWrite], Awaitable[Any]]
# (succeeded, value or exception) per job, in group order.
_Result = tuple[bool, Any]


def _as_refusal(exc: Exception) -> Exception:
    if isinstance(exc, asyncpg.IntegrityConstraintViolationError):
        # A constraint the verb did not expect (its own checks come first).
        error = ValueError(f"not stored: {exc}")
        error.__cause__ = exc
        return error
    return exc


async def _run_group(conn: asyncpg.Connection, jobs: list[Job]) -> list[_Result]:
    """Run the jobs in one transaction; raises only what fails the whole group."""
    results: list[_Result] = []
    async with conn.transaction():
        write = PgWrite(conn)
        if len(jobs) == 1:  # nothing to keep apart: no savepoint
            results.append((True, await jobs[0](write)))
        else:
            for job in jobs:
                mark = write.mark()
                savepoint = conn.transaction()
                await savepoint.start()
                try:
                    value = await job(write)
                except CONNECTION_ERRORS:
                    raise
                except Exception as exc:
                    await savepoint.rollback()
                    write.undo_to(mark)
                    results.append((False, _as_refusal(exc)))
                else:
                    await savepoint.commit()
                    results.append((True, value))
        await write.finish()
    return results


class PgWriter:
    """Group commit for one node: ``submit`` queues a job, lanes commit groups of them."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        *,
        acquire_timeout_s: float,
        lanes: int = 2,
        max_batch: int = 64,
        max_queue: int = 10_000,
    ) -> None:
        self._pool = pool
        self._timeout_s = acquire_timeout_s
        self._max_batch = max_batch
        self._queue: asyncio.Queue[tuple[Job, asyncio.Future[Any]]] = asyncio.Queue(max_queue)
        self._lanes = [
            asyncio.get_running_loop().create_task(self._lane(), name=f"edoc-pg-writer-{n}")
            for n in range(lanes)
        ]
        self._accepting = True
        self.groups = 0
        """Transactions committed (tests use it to see that grouping happens)."""

    @property
    def running(self) -> bool:
        return self._accepting and all(not lane.done() for lane in self._lanes)

    async def submit(self, job: Callable[[PgWrite], Awaitable[T]]) -> T:
        if not self._accepting:
            raise Unavailable("the store is not open", retry_after_s=1)
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        try:
            self._queue.put_nowait((job, future))
        except asyncio.QueueFull:
            raise Unavailable("the store's write queue is full", retry_after_s=1) from None
        return await future

    async def stop(self) -> None:
        """Commit what is queued, then stop the lanes."""
        self._accepting = False
        await self._queue.join()
        for lane in self._lanes:
            lane.cancel()
        await asyncio.gather(*self._lanes, return_exceptions=True)

    async def _lane(self) -> None:
        while True:
            group = [await self._queue.get()]
            while len(group) < self._max_batch and not self._queue.empty():
                group.append(self._queue.get_nowait())
            try:
                results = await self._commit([job for job, _ in group])
            except Exception as exc:
                log.exception("store.writer_failed")
                results = [(False, unavailable(exc, "commit"))] * len(group)
            for (_, future), (ok, value) in zip(group, results, strict=True):
                if not future.done():  # a cancelled caller: the write stands
                    if ok:
                        future.set_result(value)
                    else:
                        future.set_exception(value)
                self._queue.task_done()

    async def _commit(self, jobs: list[Job]) -> list[_Result]:
        for attempt in range(1, _ATTEMPTS + 1):
            try:
                async with self._pool.acquire(timeout=self._timeout_s) as conn:
                    results = await _run_group(conn, jobs)
                self.groups += 1
                return results
            except _RETRIED as exc:
                if attempt == _ATTEMPTS:
                    return [(False, unavailable(exc, "commit"))] * len(jobs)
                log.info("store.group_retried", jobs=len(jobs), error=str(exc))
            except CONNECTION_ERRORS as exc:
                log.warning("store.write_failed", jobs=len(jobs), error=str(exc))
                return [(False, unavailable(exc, "commit"))] * len(jobs)
            except Exception as exc:  # a single job's refusal (no savepoint was used)
                if len(jobs) != 1:
                    raise
                return [(False, _as_refusal(exc))]
        raise AssertionError("unreachable")


async def run_write(
    pool: asyncpg.Pool, job: Callable[[PgWrite], Awaitable[T]], acquire_timeout_s: float
) -> T:
    """Run ``job`` in one transaction; database outages become ``Unavailable``.

    An exception from the job rolls everything back (its rows and its audit
    events) and reaches the caller as it is.
    """
    try:
        async with pool.acquire(timeout=acquire_timeout_s) as conn:
            async with conn.transaction():
                write = PgWrite(conn)
                result = await job(write)
                await write.finish()
            return result
    except asyncio.CancelledError:
        raise
    except CONNECTION_ERRORS as exc:
        log.warning("store.write_failed", error=str(exc))
        raise unavailable(exc, "commit") from exc
    except asyncpg.IntegrityConstraintViolationError as exc:
        # A constraint the verb did not expect (its own checks come first).
        raise ValueError(f"not stored: {exc}") from exc


async def run_read(
    pool: asyncpg.Pool, read: Callable[[asyncpg.Connection], Awaitable[T]], timeout_s: float
) -> T:
    """Run ``read`` on a pooled connection; database outages become ``Unavailable``."""
    try:
        async with pool.acquire(timeout=timeout_s) as conn:
            return await read(conn)
    except asyncio.CancelledError:
        raise
    except CONNECTION_ERRORS as exc:
        raise unavailable(exc, "read") from exc
