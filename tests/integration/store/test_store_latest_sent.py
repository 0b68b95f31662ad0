"""An agency's latest documents (VDXP getSentEdocList) are read newest first
through an index (migration 0011), not by reading every document it ever
sent, oldest first, to keep the last few hundred."""

from __future__ import annotations

import dataclasses
import secrets
import sqlite3
from pathlib import Path

import asyncpg

from edoc_axis.store import Store, pg_queries, queries
from edoc_axis.store.migrate import apply_migrations, bundled_migrations
from tests.integration.store.conftest import PULL, SENDER, DocFactory, at


async def test_the_latest_documents_of_an_agency_oldest_first_without_its_statuses(
    agencies: Store, make_doc: DocFactory
) -> None:
    docs = [make_doc(recipients=(PULL,), received_at=at(n)) for n in range(5)]
    for n, doc in enumerate(docs):
        await agencies.accept_document(doc)
        # a status the same agency sent, stored as a push copy: not a document it sent
        copy = make_doc(recipients=(PULL,), received_at=at(n), body=f"status {n}")
        await agencies.accept_document(dataclasses.replace(copy, kind="status"))
    latest = await agencies.latest_sent(SENDER, "document", 3)
    assert [d.axis_id for d in latest] == [d.axis_id for d in docs[2:]]
    assert [d.axis_id for d in await agencies.latest_sent(SENDER, "document", 10)] == [
        d.axis_id for d in docs
    ]
    statuses = await agencies.latest_sent(SENDER, "status", 2)
    assert [d.kind for d in statuses] == ["status", "status"]
    assert await agencies.latest_sent(PULL, "document", 3) == []


def test_sqlite_reads_the_latest_through_the_index(tmp_path: Path) -> None:
    with sqlite3.connect(tmp_path / "axis.sqlite", isolation_level=None) as db:
        apply_migrations(db, bundled_migrations("sqlite"))
        params = {"sender_code": "x", "kind": "document", "limit": 3}
        plan = " / ".join(
            r[-1] for r in db.execute("EXPLAIN QUERY PLAN " + queries.LATEST_SENT, params)
        )
    assert "USING INDEX documents_sent" in plan, plan
    assert "TEMP B-TREE" not in plan, plan  # no sort: the index gives the order


async def test_postgresql_reads_the_latest_through_the_index(postgres_dsn: str) -> None:
    from edoc_axis.store.postgresql import PostgresStore

    schema = f"t_{secrets.token_hex(6)}"
    async with PostgresStore(postgres_dsn, schema=schema, migrate=True, listen=False):
        conn = await asyncpg.connect(postgres_dsn, server_settings={"search_path": schema})
        try:
            await conn.execute("SET enable_seqscan = off")  # empty tables: see the index
            rows = await conn.fetch("EXPLAIN " + pg_queries.LATEST_SENT, "x", "document", 3)
        finally:
            await conn.close()
    plan = "\n".join(r[0] for r in rows)
    # newest first straight from the index: no sort of the sender's documents
    assert "Index Scan Backward using documents_sent" in plan, plan
