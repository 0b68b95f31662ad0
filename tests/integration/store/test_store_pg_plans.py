"""A delivery is found by its key on PostgreSQL however many the recipient has.

asyncpg prepares every statement once per connection, and PostgreSQL keeps a
generic plan for it after a few runs: a plan made while a young database's
tables were nearly empty is kept as they grow, until an ANALYZE (autovacuum,
minutes later) replaces it. The lookup of one delivery once filtered on
``documents.axis_id`` through the join, and such a plan scanned every delivery
of the recipient on each call: 1 ms a call after 1,500 documents in
``bench --store postgresql``, more the longer the run, 3.5 calls per document.
Each query here is prepared on the store's small tables, as a node starting
on a new database prepares it, and run again once a recipient has many
deliveries: the pages it touches must not grow with them.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import AsyncIterator

import asyncpg
import pytest

from edoc_axis.store import NewDocument, pg_queries
from tests.integration.store.conftest import PULL, PUSH, SENDER, DocFactory, at, register

GROWN = 1200  # documents to one recipient after the plans were made
# One row found by its key: a few index descents and the rows themselves. The
# old lookup of one delivery touched ~3 pages per delivery of the recipient.
MAX_PAGES = 24


@pytest.fixture
async def young_store(postgres_dsn: str) -> AsyncIterator[tuple[object, str, str]]:
    from edoc_axis.store.postgresql import PostgresStore

    schema = f"t_{secrets.token_hex(6)}"
    store = PostgresStore(postgres_dsn, migrate=True, schema=schema, min_size=1, max_size=4)
    await store.open()
    try:
        yield store, postgres_dsn, schema
    finally:
        await store.close()


async def _pages_touched(conn: asyncpg.Connection, statement: str, args: tuple[str, ...]) -> int:
    """Shared pages hit or read by one run of a prepared statement's cached plan."""
    values = ", ".join(f"'{arg}'" for arg in args)  # the tests' own values: nothing to quote
    (text,) = await conn.fetchrow(
        f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) EXECUTE {statement}({values})"
    )
    plan = json.loads(text)[0]["Plan"]
    return int(plan["Shared Hit Blocks"]) + int(plan["Shared Read Blocks"])


def _lookups(doc: NewDocument, after_delivery: int) -> dict[str, tuple[str, tuple[str, ...]]]:
    """The per-document lookups of intake and delivery: (query, arguments) by name."""
    return {
        "delivery_for": (pg_queries.DELIVERY_FOR, (doc.axis_id, PULL)),
        "deliveries_of": (pg_queries.DELIVERIES_OF, (doc.axis_id,)),
        "document_by_axis_id": (pg_queries.DOCUMENT_BY_AXIS_ID, (doc.axis_id,)),
        "document_by_key": (pg_queries.DOCUMENT_BY_KEY, (SENDER, doc.key)),
        "document_bytes": (pg_queries.DOCUMENT_BYTES, (doc.axis_id,)),
        "inbox_after": (pg_queries.INBOX, (PULL, str(after_delivery), "100")),
        "latest_sent": (pg_queries.LATEST_SENT, (SENDER, "document", "3")),
    }


async def test_per_document_lookups_stay_by_key_after_the_tables_grew(
    young_store: tuple[object, str, str], make_doc: DocFactory
) -> None:
    store, dsn, schema = young_store
    await register(store, SENDER)  # type: ignore[arg-type]
    await register(store, PULL)  # type: ignore[arg-type]
    await register(store, PUSH, mode="push")  # type: ignore[arg-type]
    first = make_doc(recipients=(PULL,))
    await store.accept_document(first)  # type: ignore[attr-defined]
    conn = await asyncpg.connect(
        dsn, server_settings={"search_path": schema, "plan_cache_mode": "force_generic_plan"}
    )
    try:
        # Autovacuum's ANALYZE would replace the plans made below before they
        # run again; it comes at its own time in production, not within a test.
        for table in ("documents", "deliveries", "blobs"):
            await conn.execute(f"ALTER TABLE {table} SET (autovacuum_enabled = false)")
        for name, (query, args) in _lookups(first, 0).items():
            await conn.execute(f"PREPARE {name} AS {query}")
            await _pages_touched(conn, name, args)  # makes the plan while the tables are small

        documents = [make_doc(recipients=(PULL,), received_at=at(n)) for n in range(GROWN)]
        for start in range(0, GROWN, 200):
            await asyncio.gather(
                *(store.accept_document(doc) for doc in documents[start : start + 200])  # type: ignore[attr-defined]
            )
        last_delivery = await conn.fetchval("SELECT max(id) FROM deliveries")
        pages = {
            name: await _pages_touched(conn, name, args)
            for name, (_, args) in _lookups(documents[-1], last_delivery - 1).items()
        }
    finally:
        await conn.close()
    assert {name: n for name, n in pages.items() if n > MAX_PAGES} == {}, pages
