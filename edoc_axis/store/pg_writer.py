"""Write transactions on PostgreSQL: one transaction per verb, the audit chain at its end.

Several nodes write at once, so there is no single writer as with SQLite. A
verb runs on a pooled connection in a READ COMMITTED transaction; races are
settled by the database (unique keys, ON CONFLICT, row locks, fenced UPDATEs).
Audit events are collected while the verb runs and appended just before
COMMIT under the row lock on ``audit_head``: the lock is held for two short
statements and the commit, and every node's entries form one gap-free chain.
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
        """Chain the collected events onto the head (taking its row lock) and notify."""
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
        if self._notify:
            # Delivered by PostgreSQL at COMMIT, and only if it commits.
            await self.conn.execute(q.NOTIFY_WORK, q.WORK_CHANNEL)


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
