"""Copy a stopped axis's SQLite store into an empty PostgreSQL store.

Rows keep their ids and sequence numbers, and the audit log its exact stored
text, so every hash still matches: the copy is verified by walking the chain
on PostgreSQL afterwards. All of it is one PostgreSQL transaction: a failed
copy leaves the target as empty as it was.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg

from edoc_axis.core.audit import AuditReport
from edoc_axis.errors import EdocError
from edoc_axis.store import pg_queries
from edoc_axis.store.migrate import bundled_migrations, pending_migrations
from edoc_axis.store.postgresql import PostgresStore

Convert = Callable[[Any], Any]


def _time(value: Any) -> Any:
    return None if value is None else datetime.fromisoformat(value)


def _bool(value: Any) -> Any:
    return None if value is None else bool(value)


def _bytes(value: Any) -> Any:
    return None if value is None else bytes(value)


# (table, columns, conversions by column, sequence to advance past the copied ids).
# Parents before children, so foreign keys hold at every row.
def _cols(names: str) -> tuple[str, ...]:
    return tuple(names.split())


_TIMES_OF_DELIVERIES = "next_attempt_at lease_until delivered_at acked_at status_at created_at"

# (table, columns, conversions by column, serial column whose sequence moves past the copy).
# Parents before children, so foreign keys hold at every row.
_TABLES: list[tuple[str, tuple[str, ...], dict[str, Convert], str | None]] = [
    (
        "peers",
        _cols(
            "name url axis_cert_pem axis_cert_sha256 serves token_hash sealed_token state"
            " created_at directory_version test"
        ),
        {"axis_cert_pem": _bytes, "sealed_token": _bytes, "created_at": _time, "test": _bool},
        None,
    ),
    (
        "agencies",
        _cols("code name state delivery_mode endpoint_url created_at test peer"),
        {"created_at": _time, "test": _bool},
        None,
    ),
    ("agency_codes", _cols("code agency_code is_canonical"), {"is_canonical": _bool}, None),
    (
        "certificates",
        _cols("fingerprint agency_code pem added_at"),
        {"pem": _bytes, "added_at": _time},
        None,
    ),
    (
        "tokens",
        _cols("token_hash agency_code issued_at revoked_at"),
        {"issued_at": _time, "revoked_at": _time},
        None,
    ),
    ("blobs", _cols("sha256 size data"), {"data": _bytes}, None),
    (
        "documents",
        _cols(
            "seq axis_id sender_code document_id idempotency_key kind business_type"
            " references_document_id subject sha256 received_at receipt legacy_policy"
            " relay_path"
        ),
        {"received_at": _time, "receipt": _bytes, "legacy_policy": _bool},
        "seq",
    ),
    (
        "deliveries",
        _cols(
            "id document_seq recipient_code mode state attempts next_attempt_at lease_until"
            " lease_owner last_error delivered_at acked_at status_code status_at created_at"
            " relay_receipt"
        ),
        {**{name: _time for name in _TIMES_OF_DELIVERIES.split()}, "relay_receipt": _bytes},
        "id",
    ),
    (
        "statuses",
        _cols(
            "seq status_id axis_id from_code to_code kind status_code sha256 timestamp"
            " received_at recall_round reported_done"
        ),
        {"timestamp": _time, "received_at": _time, "reported_done": _bool},
        "seq",
    ),
    (
        "vdxp_systems",
        _cols("system_id state sealed_secret created_at secret_set_at"),
        {"sealed_secret": _bytes, "created_at": _time, "secret_set_at": _time},
        None,
    ),
    ("vdxp_system_agencies", _cols("system_id agency_code position"), {}, None),
    ("vdxp_reports", _cols("message_id recipient_code report at"), {"at": _time}, None),
    ("operators", _cols("name token_hash created_at"), {"created_at": _time}, None),
    # The audit log's time stays the text that was hashed.
    ("audit_log", _cols("seq at event axis_id agency detail prev_hash hash"), {}, None),
]


def copied_columns() -> dict[str, set[str]]:
    """What the copy carries, table by table.

    The audit head is set from the source's; the registry version and the
    delivery counts are not copied (the target's triggers move them as the
    rows arrive); nor are the console's sessions (operators log in again on
    the new store).
    """
    return {table: set(columns) for table, columns, _, _ in _TABLES}


_BATCH_ROWS = 500
_BATCH_BYTES = 32 * 1024 * 1024  # bounds memory whatever the documents' sizes


class CopyRefused(EdocError):
    code, http_status, title = "store.copy-refused", 409, "Store copy refused"


@dataclass
class CopyReport:
    rows: dict[str, int] = field(default_factory=dict)
    audit: AuditReport | None = None


def _batches(
    db: sqlite3.Connection, table: str, columns: tuple[str, ...], convert: dict[str, Convert]
) -> Iterator[list[tuple[Any, ...]]]:
    order = columns[0]
    cursor = db.execute(f"SELECT {', '.join(columns)} FROM {table} ORDER BY {order}")  # noqa: S608
    converters = [convert.get(name) for name in columns]
    batch: list[tuple[Any, ...]] = []
    size = 0
    # Row by row: fetchmany(_BATCH_ROWS) would hold 500 rows before the byte bound
    # is looked at, 25 GB of blobs for 50 MB documents.
    for row in cursor:
        values = tuple(
            value if fn is None else fn(value) for value, fn in zip(row, converters, strict=True)
        )
        batch.append(values)
        size += sum(len(v) for v in values if isinstance(v, bytes | str))
        if len(batch) >= _BATCH_ROWS or size >= _BATCH_BYTES:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


async def _refuse_unless_empty(conn: asyncpg.Connection) -> None:
    head = await conn.fetchval("SELECT seq FROM audit_head WHERE id = 1")
    for table in ("agencies", "documents", "audit_log"):
        if await conn.fetchval(f"SELECT EXISTS (SELECT 1 FROM {table})"):  # noqa: S608
            raise CopyRefused(f"the target store is not empty (table {table} has rows)")
    if head != 0:
        raise CopyRefused("the target store's audit chain is not empty")


async def copy_sqlite_to_postgres(
    source: Path, target: PostgresStore, *, progress: Callable[[str, int], None] | None = None
) -> CopyReport:
    """Copy every table of ``source`` into ``target`` (migrated here, must be empty)."""
    if not await asyncio.to_thread(source.is_file):
        raise CopyRefused(f"no SQLite store at {source}")
    db = sqlite3.connect(f"file:{source}?mode=ro", uri=True, isolation_level=None)
    report = CopyReport()
    try:
        db.execute("BEGIN")  # one snapshot of the source for the whole copy
        if pending_migrations(db, bundled_migrations("sqlite")):
            raise CopyRefused(f"the SQLite store {source} is behind: run `edoc-axis migrate` first")
        head = db.execute("SELECT seq, hash FROM audit_head WHERE id = 1").fetchone()
        await target.migrate()
        conn = await asyncpg.connect(target.dsn)
        try:
            async with conn.transaction():
                await _refuse_unless_empty(conn)
                for table, columns, convert, serial in _TABLES:
                    copied, last = 0, None
                    for batch in _batches(db, table, columns, convert):
                        await conn.copy_records_to_table(table, records=batch, columns=columns)
                        copied += len(batch)
                        last = batch[-1][0]  # ordered by the first column, the serial one
                    report.rows[table] = copied
                    if progress is not None:
                        progress(table, copied)
                    if serial is not None:  # new rows continue after the copied ids
                        await conn.execute(
                            "SELECT setval(pg_get_serial_sequence($1, $2), $3, $4)",
                            table,
                            serial,
                            last or 1,
                            last is not None,
                        )
                await conn.execute(
                    "UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1", head[0], head[1]
                )
                # The target's triggers counted the copied deliveries as changes.
                await conn.execute(pg_queries.FOLD_DELIVERY_COUNTS)
        finally:
            await conn.close()
        db.execute("COMMIT")
    finally:
        db.close()
    async with target:
        report.audit = await target.verify_audit()
    return report
