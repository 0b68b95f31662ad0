"""The operator statistics read the audit log by time range through an index
on audit_log.at (migration 0006), on both backends: the plan of the very
query the store runs names the index."""

from __future__ import annotations

import secrets
import sqlite3
from pathlib import Path

import asyncpg

from edoc_axis.store import SqliteStore, pg_queries, queries
from tests.integration.store.conftest import at


async def test_sqlite_reads_audit_by_time_through_the_index(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "axis.sqlite")
    await store.open()
    try:
        for n in range(20):
            await store.append_audit("document.refused", at(n), detail={"code": "x"})
        activity = await store.activity(at(5), at(10))
        assert sum(c.count for c in activity.counts) == 5
    finally:
        await store.close()
    with sqlite3.connect(tmp_path / "axis.sqlite") as conn:
        plan = conn.execute(
            "EXPLAIN QUERY PLAN " + queries.ACTIVITY, {"since": "a", "until": "b"}
        ).fetchall()
    assert any("USING INDEX audit_log_at" in str(row[-1]) for row in plan), plan


async def test_postgresql_reads_audit_by_time_through_the_index(postgres_dsn: str) -> None:
    from edoc_axis.store.postgresql import PostgresStore

    schema = f"t_{secrets.token_hex(6)}"
    store = PostgresStore(postgres_dsn, migrate=True, schema=schema, min_size=1, max_size=2)
    await store.open()
    try:
        for n in range(20):
            await store.append_audit("document.refused", at(n), detail={"code": "x"})
        activity = await store.activity(at(5), at(10))
        assert sum(c.count for c in activity.counts) == 5
    finally:
        await store.close()
    conn = await asyncpg.connect(postgres_dsn, server_settings={"search_path": schema})
    try:
        # 20 rows: the planner would rather scan the table; forbid that to see the index.
        await conn.execute("SET enable_seqscan = off")
        plan = await conn.fetch("EXPLAIN " + pg_queries.ACTIVITY, "a", "b")
    finally:
        await conn.close()
    assert any("audit_log_at" in row[0] for row in plan), [row[0] for row in plan]
