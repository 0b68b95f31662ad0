"""VDXP's lists read what they answer (migration 0011): an agency's latest
documents and statuses (getSentEdocList) newest first through an index, not
every document it ever sent oldest first nor every status; the statuses it has
not reported ``done`` (getReceivedEdocList) through a partial index of those,
not every status it ever received."""

from __future__ import annotations

import dataclasses
import sqlite3
from pathlib import Path

from edoc_axis.store import SqliteStore, Store, pg_queries, queries, sqlite_vdxp
from edoc_axis.store.migrate import apply_migrations, bundled_migrations
from tests.integration.store.conftest import (
    PULL,
    SENDER,
    DocFactory,
    at,
    make_status,
    postgresql_plans,
    register_parties,
)


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


async def _statuses_to_pull(store: Store, make_doc: DocFactory) -> list[str]:
    """Five statuses PULL received about one document; returns their ids in order."""
    doc = (await store.accept_document(make_doc(recipients=(PULL,)))).document
    ids = []
    for n in range(5):
        status = make_status(
            doc.axis_id, "03", status_id=f"st-{n}", from_code=SENDER, to_code=PULL,
            received_at=at(n),
        )  # fmt: skip
        await store.record_status(status, None, updates_progress=False)
        ids.append(status.status_id)
    return ids


async def test_the_statuses_not_reported_done_by_their_addressee_oldest_first(
    agencies: Store, make_doc: DocFactory
) -> None:
    ids = await _statuses_to_pull(agencies, make_doc)
    await agencies.record_vdxp_report(ids[0], PULL, "done", None, at(10))
    await agencies.record_vdxp_report(ids[2], PULL, "done", None, at(10))
    await agencies.record_vdxp_report(ids[2], PULL, "done", None, at(11))  # replayed
    await agencies.record_vdxp_report(ids[3], PULL, "processing", None, at(10))
    await agencies.record_vdxp_report(ids[4], SENDER, "done", None, at(10))  # not its addressee
    unreported = await agencies.unreported_statuses(PULL, 10)
    assert [s.status_id for s in unreported] == [ids[1], ids[3], ids[4]]
    assert [s.status_id for s in await agencies.unreported_statuses(PULL, 2)] == ids[1:4:2]
    assert await agencies.unreported_statuses(SENDER, 10) == []
    latest = await agencies.statuses_from(SENDER, 2)
    assert [s.status_id for s in latest] == ids[3:]


async def test_a_store_made_before_0011_knows_which_statuses_were_reported(
    tmp_path: Path, make_doc: DocFactory
) -> None:
    async with SqliteStore(tmp_path / "axis.sqlite") as store:
        await register_parties(store)
        ids = await _statuses_to_pull(store, make_doc)
        await store.record_vdxp_report(ids[1], PULL, "done", None, at(10))
    with sqlite3.connect(tmp_path / "axis.sqlite") as db:  # back to the schema before 0011
        for statement in (
            "DROP TRIGGER statuses_reported_done",
            "DROP INDEX statuses_unreported",
            "DROP INDEX statuses_sent",
            "DROP INDEX documents_sent",
            "ALTER TABLE statuses DROP COLUMN reported_done",
            "DELETE FROM schema_migrations WHERE version = 11",
        ):
            db.execute(statement)
    with sqlite3.connect(tmp_path / "axis.sqlite", isolation_level=None) as db:
        assert apply_migrations(db, bundled_migrations("sqlite")) == [11]
    async with SqliteStore(tmp_path / "axis.sqlite") as store:
        unreported = await store.unreported_statuses(PULL, 10)
    assert [s.status_id for s in unreported] == [ids[0], *ids[2:]]


def test_sqlite_reads_the_lists_through_their_indexes(tmp_path: Path) -> None:
    with sqlite3.connect(tmp_path / "axis.sqlite", isolation_level=None) as db:
        apply_migrations(db, bundled_migrations("sqlite"))

        def plan(sql: str, **params: object) -> str:
            return " / ".join(r[-1] for r in db.execute("EXPLAIN QUERY PLAN " + sql, params))

        latest = plan(queries.LATEST_SENT, sender_code="x", kind="document", limit=3)
        sent = plan(sqlite_vdxp._STATUSES_FROM, code="x", limit=3)
        unreported = plan(sqlite_vdxp._UNREPORTED_STATUSES, code="x", limit=3)
    assert "USING INDEX documents_sent" in latest, latest
    assert "TEMP B-TREE" not in latest, latest  # no sort: the index gives the order
    assert "USING INDEX statuses_sent" in sent and "SCAN s" not in sent, sent
    assert "USING INDEX statuses_unreported" in unreported, unreported


async def test_postgresql_reads_the_lists_through_their_indexes(postgres_dsn: str) -> None:
    from edoc_axis.store import pg_vdxp

    plans = await postgresql_plans(
        postgres_dsn,
        {
            "latest": (pg_queries.LATEST_SENT, ("x", "document", 3)),
            "sent": (pg_vdxp._STATUSES_FROM, ("x", 3)),
            "unreported": (pg_vdxp._UNREPORTED_STATUSES, ("x", 3)),
        },
    )
    latest, sent, unreported = plans["latest"], plans["sent"], plans["unreported"]
    # newest first straight from the index: no sort of the sender's documents
    assert "Index Scan Backward using documents_sent" in latest, latest
    assert "Index Scan Backward using statuses_sent" in sent, sent
    assert "statuses_unreported" in unreported, unreported
