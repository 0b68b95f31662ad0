"""The delivery figures (``stats``: /metrics, `edoc-axis stats`, the console) are
kept as deliveries change (migration 0010) instead of counted over every
delivery ever made, and the pending ones are read through the partial index.

A COUNT over the deliveries took 1.1 s per million of them on SQLite: every
/metrics scrape would have grown with the axis's whole history.
"""

from __future__ import annotations

import asyncio
import secrets
import sqlite3
from collections import Counter
from pathlib import Path

import asyncpg

from edoc_axis.core.retry import DeadLetter, Delivered, RetryAt
from edoc_axis.store import NewAgency, SqliteStore, Store, pg_queries, queries
from edoc_axis.store.migrate import apply_migrations, bundled_migrations
from tests.integration.store.conftest import (
    PULL,
    PUSH,
    DocFactory,
    at,
    postgresql_plans,
    register_parties,
)

CF_S, CF_R = "CFCOUNT.1", "CFCOUNT.2"  # test agencies: removable with their traffic


async def _rows_counted(store: Store, tmp_path: Path) -> Counter[tuple[str, str]]:
    """(recipient, state) of every delivery row, counted by the database itself."""
    sql = "SELECT recipient_code, state, COUNT(*) FROM deliveries GROUP BY 1, 2"
    if isinstance(store, SqliteStore):
        with sqlite3.connect(tmp_path / "axis.sqlite") as db:
            rows = db.execute(sql).fetchall()
    else:
        conn = await asyncpg.connect(
            store.dsn,  # type: ignore[attr-defined]
            server_settings={"search_path": store._schema},  # type: ignore[attr-defined]
        )
        try:
            rows = [tuple(r) for r in await conn.fetch(sql)]
        finally:
            await conn.close()
    return Counter({(code, state): n for code, state, n in rows})


async def _every_change(store: Store, make_doc: DocFactory) -> None:
    """Each verb that moves a delivery from one state to another, at least once."""
    for code in (CF_S, CF_R):
        test_agency = NewAgency(code, "Test", (), "pull", None, test=True)
        await store.create_agency(test_agency, f"hash-{code}", [(f"fp-{code}", b"PEM")], at(0))
    docs = [make_doc(received_at=at(n)) for n in range(6)]  # to PULL and PUSH each
    for doc in docs:
        await store.accept_document(doc)
    await store.accept_document(make_doc(sender=CF_S, recipients=(CF_R,)))
    for doc in docs[:3]:
        await store.acknowledge(doc.axis_id, PULL, at(10))
    await store.acknowledge(docs[0].axis_id, PULL, at(11))  # again: nothing changes
    claims = await store.claim_due_deliveries(at(20), 10, 30, "w1")
    assert len(claims) == 6
    outcomes = [
        Delivered(),
        Delivered(),
        DeadLetter("refused"),
        DeadLetter("refused"),
        RetryAt(at(40), "timeout"),
        RetryAt(at(40), "timeout"),
    ]
    for claim, outcome in zip(claims, outcomes, strict=True):
        assert await store.record_outcome(claim.delivery_id, claim.attempt, outcome, at(21))
    dead = (await store.dead_letters(10)).items
    await store.retry_dead_letter(dead[0].id, at(30))
    await store.discard_dead_letter(dead[1].id, at(30))
    await store.acknowledge(docs[4].axis_id, PUSH, at(31))  # a push recipient that pulled
    await store.remove_test_agency(CF_S, at=at(32))  # its document and the delivery to CF_R


async def test_the_counts_follow_every_change_of_a_delivery(
    agencies: Store, make_doc: DocFactory, tmp_path: Path
) -> None:
    await _every_change(agencies, make_doc)
    stats = await agencies.stats(at(60))
    assert stats.by_agency_state == {
        (PULL, "acknowledged"): 3,
        (PULL, "pending"): 3,
        (PUSH, "delivered"): 2,
        (PUSH, "acknowledged"): 1,
        (PUSH, "pending"): 2,  # two retries and a dead letter retried, one then pulled
        (PUSH, "discarded"): 1,
    }
    assert stats.by_agency_state == await _rows_counted(agencies, tmp_path)
    assert {type(n) for n in stats.by_agency_state.values()} == {int}  # metrics add them up
    assert stats.by_state == {"acknowledged": 4, "pending": 5, "delivered": 2, "discarded": 1}
    assert stats.oldest_pending_age_s == 58  # the dead letter retried, made at 2 s


async def test_a_store_made_before_the_counts_gets_them_from_its_rows(
    tmp_path: Path, make_doc: DocFactory
) -> None:
    """Migration 0010 counts the deliveries already stored, then keeps counting."""
    async with SqliteStore(tmp_path / "axis.sqlite") as store:
        await register_parties(store)
        await _every_change(store, make_doc)
        expected = await store.stats(at(60))
    with sqlite3.connect(tmp_path / "axis.sqlite") as db:  # back to the schema before 0010
        for trigger in ("insert", "update", "delete"):
            db.execute(f"DROP TRIGGER deliveries_counted_on_{trigger}")
        db.execute("DROP TABLE delivery_counts")
        db.execute("DELETE FROM schema_migrations WHERE version = 10")
    with sqlite3.connect(tmp_path / "axis.sqlite", isolation_level=None) as db:
        assert apply_migrations(db, bundled_migrations("sqlite")) == [10]
    async with SqliteStore(tmp_path / "axis.sqlite") as store:
        assert await store.stats(at(60)) == expected
        await store.accept_document(make_doc(recipients=(PULL,)))
        after = await store.stats(at(60))
    assert (
        after.by_agency_state[(PULL, "pending")] == expected.by_agency_state[(PULL, "pending")] + 1
    )


def test_sqlite_reads_the_figures_without_reading_every_delivery(tmp_path: Path) -> None:
    with sqlite3.connect(tmp_path / "axis.sqlite", isolation_level=None) as db:
        apply_migrations(db, bundled_migrations("sqlite"))
        plans = {
            name: " / ".join(row[-1] for row in db.execute("EXPLAIN QUERY PLAN " + sql))
            for name, sql in (
                ("counts", queries.COUNT_BY_AGENCY_STATE),
                ("oldest pending", queries.OLDEST_PENDING),
                ("pending by recipient", queries.PENDING_BY_RECIPIENT),
            )
        }
    assert "deliveries" not in plans["counts"].replace("delivery_counts", ""), plans
    assert "USING INDEX deliveries_inbox" in plans["oldest pending"], plans
    assert "USING INDEX deliveries_inbox" in plans["pending by recipient"], plans


async def test_postgresql_reads_the_figures_without_reading_every_delivery(
    postgres_dsn: str,
) -> None:
    plans = await postgresql_plans(
        postgres_dsn,
        {
            "counts": (pg_queries.COUNT_BY_AGENCY_STATE, ()),
            "oldest pending": (pg_queries.OLDEST_PENDING, ()),
            "pending by recipient": (pg_queries.PENDING_BY_RECIPIENT, ()),
        },
    )
    assert " deliveries " not in plans["counts"], plans["counts"]
    assert "deliveries_inbox" in plans["oldest pending"], plans["oldest pending"]
    assert "deliveries_inbox" in plans["pending by recipient"], plans["pending by recipient"]


NODES = 3


async def test_nodes_changing_deliveries_at_once_keep_exact_counts(
    postgres_dsn: str, make_doc: DocFactory
) -> None:
    """Many transactions of several nodes fold their changes at once: none waits
    on another's count, none deadlocks, and the figures equal the rows."""
    from edoc_axis.store.postgresql import PostgresStore

    schema = f"n_{secrets.token_hex(6)}"
    nodes = [
        PostgresStore(postgres_dsn, schema=schema, migrate=i == 0, min_size=1, max_size=4)
        for i in range(NODES)
    ]
    for node in nodes:
        await node.open()
    try:
        await register_parties(nodes[0])
        docs = [make_doc(received_at=at(n)) for n in range(240)]
        await asyncio.gather(*(nodes[n % NODES].accept_document(doc) for n, doc in enumerate(docs)))
        await asyncio.gather(
            *(
                nodes[n % NODES].acknowledge(doc.axis_id, PULL, at(300))
                for n, doc in enumerate(docs[:200])
            )
        )
        stats = await nodes[1].stats(at(300))
        conn = await asyncpg.connect(postgres_dsn, server_settings={"search_path": schema})
        try:
            rows = await conn.fetch(
                "SELECT recipient_code, state, COUNT(*) FROM deliveries GROUP BY 1, 2"
            )
            unfolded = await conn.fetchval("SELECT COUNT(*) FROM delivery_count_changes")
        finally:
            await conn.close()
    finally:
        for node in nodes:
            await node.close()
    assert stats.by_agency_state == {(code, state): n for code, state, n in rows}
    assert stats.by_agency_state == {
        (PULL, "acknowledged"): 200,
        (PULL, "pending"): 40,
        (PUSH, "pending"): 240,
    }
    assert unfolded == 0  # each transaction folded its own changes as it committed
